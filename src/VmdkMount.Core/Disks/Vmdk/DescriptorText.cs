using System.Text;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// Turns descriptor bytes into text in the declared <c>encoding</c>: structural tokens are ASCII, so the
/// bytes are first scanned as Latin-1 to find the encoding line; without one, strict UTF-8, then Windows-1252.
/// </summary>
internal static class DescriptorText
{
    /// <summary>Largest text descriptor accepted: real ones are a few KiB, and the bound keeps a hostile file from costing memory.</summary>
    public const int MaxBytes = 1 << 20;

    static DescriptorText() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    public static string Decode(ReadOnlySpan<byte> bytes, string where, out string encodingName)
    {
        int nul = bytes.IndexOf((byte)0);
        if (nul >= 0) bytes = bytes[..nul];
        string latin = Encoding.Latin1.GetString(bytes);
        string? declared = FindEncoding(latin);
        encodingName = declared ?? "";
        if (declared is not null)
        {
            Encoding enc;
            try
            {
                enc = Encoding.GetEncoding(declared, EncoderFallback.ReplacementFallback, DecoderFallback.ReplacementFallback);
            }
            // an unknown name is an ArgumentException; a known one the runtime refuses to decode (UTF-7, disabled
            // since .NET 5 for safety) is a NotSupportedException: both are an encoding this reader cannot read
            catch (Exception e) when (e is ArgumentException or NotSupportedException)
            {
                throw new UnsupportedFeatureException(where, $"descriptor encoding '{declared}'", e);
            }
            return enc.GetString(bytes);
        }
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return Encoding.GetEncoding(1252).GetString(bytes);
        }
    }

    private static string? FindEncoding(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            int eq = line.IndexOf('=');
            if (eq <= 0 || line.StartsWith('#')) continue;
            if (!line[..eq].Trim().Equals("encoding", StringComparison.OrdinalIgnoreCase)) continue;
            var value = DescriptorFile.Unquote(line[(eq + 1)..]);
            return value.Length == 0 ? null : value;
        }
        return null;
    }
}
