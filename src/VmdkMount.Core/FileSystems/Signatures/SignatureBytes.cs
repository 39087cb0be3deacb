using System.Text;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Signatures;

/// <summary>The small byte tests every signature probe shares; bounds-checked, so a short head is simply no match.</summary>
internal static class SignatureBytes
{
    public static bool At(ReadOnlySpan<byte> h, int offset, string ascii)
    {
        if (offset < 0 || h.Length < offset + ascii.Length) return false;
        for (int i = 0; i < ascii.Length; i++)
            if (h[offset + i] != (byte)ascii[i]) return false;
        return true;
    }

    /// <summary>A NUL-terminated, space-trimmed UTF-8 text field; null when absent or blank.</summary>
    public static string? Utf8Z(ReadOnlySpan<byte> h, int offset, int length)
    {
        if (h.Length < offset + length) return null;
        var s = h.Slice(offset, length);
        int end = s.IndexOf((byte)0);
        if (end >= 0) s = s[..end];
        string text = Encoding.UTF8.GetString(s).Trim();
        return text.Length == 0 ? null : text;
    }

    /// <summary>Reads as much as the volume has (a probe never raises for a short read).</summary>
    public static int ReadFully(IReadAt source, long offset, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = source.ReadAt(offset + total, buffer[total..]);
            if (n <= 0) break;
            total += n;
        }
        return total;
    }

    public static bool HasBootSignature(ReadOnlySpan<byte> h) => h.Length >= 512 && h[510] == 0x55 && h[511] == 0xAA;
}
