using System.IO.Compression;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// Inflates one compressed grain. The payload is an RFC 1950 zlib stream; a stream without the zlib
/// header is tried as raw deflate, which costs nothing when it is not needed.
/// </summary>
internal static class ZlibGrain
{
    public static unsafe int Inflate(ReadOnlySpan<byte> compressed, byte[] output, out bool overflow, string where, long offset)
    {
        bool zlibHeader = compressed.Length >= 2 && (compressed[0] & 0x0F) == 8 && (compressed[1] & 0x20) == 0
                          && (compressed[0] * 256 + compressed[1]) % 31 == 0;
        try
        {
            fixed (byte* p = compressed)
            {
                using var input = new UnmanagedMemoryStream(p, compressed.Length);
                using Stream z = zlibHeader ? new ZLibStream(input, CompressionMode.Decompress) : new DeflateStream(input, CompressionMode.Decompress);
                int total = 0;
                while (total < output.Length)
                {
                    int n = z.Read(output, total, output.Length - total);
                    if (n <= 0) break;
                    total += n;
                }
                Span<byte> probe = stackalloc byte[1];
                overflow = total == output.Length && z.Read(probe) > 0;
                return total;
            }
        }
        catch (InvalidDataException e)
        {
            throw new CorruptDataException(where, offset, $"zlib error: {e.Message}", e);
        }
    }
}
