using System.Globalization;
using System.Text;

namespace VmdkMount.Core.Transports.Nbd;

/// <summary>
/// An NBD URI (NetworkBlockDevice `doc/uri.md`): `nbd://host[:port]/export`, `nbds://...` (TLS required),
/// `nbd+unix:///export?socket=PATH`, `nbds+unix:///export?socket=PATH`. The export name is the path minus its first
/// `/`, percent-decoded (`nbd://h/` and `nbd://h` name the default export ""). Query keys other than `socket` are
/// refused, and so is a user name (that is for TLS-PSK, which .NET cannot do).
/// </summary>
public sealed record NbdUri(string Text, bool Tls, string? Host, int Port, string? SocketPath, string ExportName)
{
    public const int DefaultPort = 10809;

    /// <summary>Longest export name the protocol allows, in UTF-8 bytes.</summary>
    public const int MaxExportNameBytes = 4096;

    private static readonly string[] Schemes = ["nbd", "nbds", "nbd+unix", "nbds+unix"];

    /// <summary>Whether a DISK argument is an NBD URI (and not a host path).</summary>
    public static bool IsNbd(string source)
    {
        int sep = source.IndexOf("://", StringComparison.Ordinal);
        return sep > 0 && Schemes.Contains(source[..sep].ToLowerInvariant());
    }

    public override string ToString() => Text;

    public static NbdUri Parse(string text)
    {
        int sep = text.IndexOf("://", StringComparison.Ordinal);
        string scheme = sep > 0 ? text[..sep].ToLowerInvariant() : "";
        if (!Schemes.Contains(scheme)) throw Bad(text, "not an nbd://, nbds://, nbd+unix:// or nbds+unix:// URI");
        bool unix = scheme.EndsWith("+unix", StringComparison.Ordinal);
        bool tls = scheme.StartsWith("nbds", StringComparison.Ordinal);
        string rest = text[(sep + 3)..];
        int fragment = rest.IndexOf('#');
        if (fragment >= 0) throw Bad(text, "a '#' must be written %23 in an export name");
        int query = rest.IndexOf('?');
        string queryText = query >= 0 ? rest[(query + 1)..] : "";
        if (query >= 0) rest = rest[..query];
        int slash = rest.IndexOf('/');
        string authority = slash >= 0 ? rest[..slash] : rest;
        string path = slash >= 0 ? rest[slash..] : "";
        string export = path.Length == 0 ? "" : Decode(text, path[1..]);
        if (Encoding.UTF8.GetByteCount(export) > MaxExportNameBytes) throw Bad(text, $"export name longer than {MaxExportNameBytes} bytes");
        if (export.Contains('\0')) throw Bad(text, "export name holds a NUL");

        string? socket = null;
        foreach (string pair in queryText.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=');
            string key = Decode(text, eq >= 0 ? pair[..eq] : pair), value = eq >= 0 ? Decode(text, pair[(eq + 1)..]) : "";
            if (key == "socket" && unix && socket is null) socket = value;
            else throw Bad(text, key == "socket" ? "socket= belongs to nbd+unix:// and may appear once" : $"unknown query key '{key}' (only socket= is understood)");
        }

        if (unix)
        {
            if (authority.Length != 0) throw Bad(text, "an nbd+unix:// URI has no host: nbd+unix:///export?socket=PATH");
            if (string.IsNullOrEmpty(socket)) throw Bad(text, "nbd+unix:// needs ?socket=PATH");
            return new NbdUri(text, tls, null, 0, socket, export);
        }

        if (authority.Contains('@')) throw Bad(text, "a user name is for TLS-PSK, which is not supported (use X.509 with --thumbprint or --ca)");
        string host;
        int port = DefaultPort;
        string? portText = null;
        if (authority.StartsWith('['))
        {
            int close = authority.IndexOf(']');
            if (close < 0) throw Bad(text, "unclosed '[' in an IPv6 address");
            host = authority[1..close];
            string after = authority[(close + 1)..];
            if (after.Length > 0)
            {
                if (after[0] != ':') throw Bad(text, "junk after the IPv6 address");
                portText = after[1..];
            }
        }
        else
        {
            int colon = authority.LastIndexOf(':');
            host = colon >= 0 ? authority[..colon] : authority;
            if (colon >= 0) portText = authority[(colon + 1)..];
        }
        if (host.Length == 0) throw Bad(text, "no host");
        if (portText is not null &&
            (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
            throw Bad(text, $"port '{portText}' is not 1..65535");
        return new NbdUri(text, tls, host, port, null, export);
    }

    /// <summary>Strict percent-decoding to UTF-8: a lone or malformed `%` is an error, never passed on.</summary>
    private static string Decode(string uri, string s)
    {
        if (!s.Contains('%')) return s;
        var bytes = new List<byte>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] != '%')
            {
                int next = s.IndexOf('%', i);
                if (next < 0) next = s.Length;
                bytes.AddRange(Encoding.UTF8.GetBytes(s[i..next]));
                i = next - 1;
                continue;
            }
            if (i + 2 >= s.Length || !Uri.IsHexDigit(s[i + 1]) || !Uri.IsHexDigit(s[i + 2]))
                throw Bad(uri, "a '%' must start a %XX escape");
            bytes.Add(Convert.ToByte(s.Substring(i + 1, 2), 16));
            i += 2;
        }
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.ToArray());
        }
        catch (DecoderFallbackException)
        {
            throw Bad(uri, "percent escapes that are not UTF-8");
        }
    }

    private static ArgumentException Bad(string text, string why) => new($"{text}: {why}");
}
