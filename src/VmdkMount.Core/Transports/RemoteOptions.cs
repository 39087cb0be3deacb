using System.Globalization;

namespace VmdkMount.Core.Transports;

/// <summary>How a remote source (an NBD export, an HTTP(S) URL) is reached: timeouts, request sizes, TLS trust, extra headers.</summary>
public sealed record RemoteOptions
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>2 MiB: servers in front of VDDK fail above it, and it is large enough for throughput.</summary>
    public const int DefaultMaxRequestBytes = 2 << 20;

    /// <summary>32 MiB: the largest request the NBD spec calls safe without advertised sizes (qemu's limit).</summary>
    public const int LargestMaxRequestBytes = 32 << 20;

    /// <summary>
    /// Bound on every network wait: connect, handshake (TLS included), each request's reply, each write. A server that
    /// is silent for longer loses its connection and the waiting reads fail.
    /// </summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>Largest read sent in one request; longer reads are split. Never above the server's advertised maximum.</summary>
    public int MaxRequestBytes { get; init; } = DefaultMaxRequestBytes;

    public const int DefaultRetries = 5;

    /// <summary>
    /// How often a read whose connection broke is tried again on a new connection (new handshake, same export size and
    /// first 64 KiB checked), after 200 ms, 400 ms, ... (at most 5 s apart). 0: fail at once.
    /// </summary>
    public int Retries { get; init; } = DefaultRetries;

    public const int DefaultConnections = 4;

    /// <summary>
    /// Connections to one export when the server allows several (NBD's CAN_MULTI_CONN): requests are spread over them.
    /// Servers that do not say so get one, as the spec asks.
    /// </summary>
    public int Connections { get; init; } = DefaultConnections;

    /// <summary>The server certificate's thumbprint (VMware form `AB:CD:...`, or `sha256:...`); replaces chain validation.</summary>
    public string? Thumbprint { get; init; }

    /// <summary>A PEM file of CA certificates the server's certificate must chain to (instead of the system store).</summary>
    public string? CaFile { get; init; }

    /// <summary>
    /// Headers sent with every HTTP(S) request (`--header 'Name: value'`, repeatable): an `Authorization` for object
    /// stores. Their values are secrets: never shown.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>`Name: value` as `--header` spells it; throws <see cref="ArgumentException"/> without echoing the value.</summary>
    public static KeyValuePair<string, string> ParseHeader(string text)
    {
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string name = colon < 0 ? "" : text[..colon].Trim();
        if (name.Length == 0 || name.Any(c => c <= ' ' || c >= 0x7F || "()<>@,;:\\\"/[]?={}".Contains(c)))
            throw new ArgumentException("--header: expected 'Name: value' with a header name of letters, digits and -");
        string value = text[(colon + 1)..].Trim();
        if (value.Any(c => c is '\r' or '\n' or '\0'))
            throw new ArgumentException($"--header {name}: the value holds a line break");
        return new(name, value);
    }

    /// <summary>Checks the values a user gave; throws <see cref="ArgumentException"/> naming the option.</summary>
    public RemoteOptions Validated()
    {
        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromHours(1))
            throw new ArgumentException($"--timeout: {Timeout.TotalSeconds} s is outside 0 s (exclusive) .. 3600 s");
        if (MaxRequestBytes < 512 || MaxRequestBytes > LargestMaxRequestBytes)
            throw new ArgumentException($"--max-request: {MaxRequestBytes} bytes is outside 512 .. {LargestMaxRequestBytes}");
        if (Retries is < 0 or > 100) throw new ArgumentException($"--retries: {Retries} is outside 0 .. 100");
        if (Connections is < 1 or > 16) throw new ArgumentException($"--connections: {Connections} is outside 1 .. 16");
        if (Thumbprint is not null) CertificatePin.Parse(Thumbprint);
        return this;
    }

    /// <summary>`30`, `30s`, `500ms`, `2m`: a timeout as the command line spells it.</summary>
    public static TimeSpan ParseTimeout(string text)
    {
        string t = text.Trim().ToLowerInvariant();
        double scale = 1;
        if (t.EndsWith("ms", StringComparison.Ordinal)) { scale = 0.001; t = t[..^2]; }
        else if (t.EndsWith('s')) t = t[..^1];
        else if (t.EndsWith('m')) { scale = 60; t = t[..^1]; }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v) || v <= 0 || v * scale > 3600)
            throw new ArgumentException($"--timeout: '{text}' is not a duration between 1ms and 3600s (e.g. 30, 30s, 500ms)");
        return TimeSpan.FromSeconds(v * scale);
    }

    /// <summary>`2M`, `512K`, `1048576`: a request size as the command line spells it.</summary>
    public static int ParseSize(string text)
    {
        string t = text.Trim().ToUpperInvariant();
        long scale = 1;
        if (t.EndsWith("IB", StringComparison.Ordinal)) t = t[..^2];
        else if (t.EndsWith('B')) t = t[..^1];
        if (t.EndsWith('K')) { scale = 1 << 10; t = t[..^1]; }
        else if (t.EndsWith('M')) { scale = 1 << 20; t = t[..^1]; }
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long v) || v <= 0 || v > LargestMaxRequestBytes / scale)
            throw new ArgumentException($"--max-request: '{text}' is not a size up to 32M (e.g. 2M, 512K)");
        return (int)(v * scale);
    }
}
