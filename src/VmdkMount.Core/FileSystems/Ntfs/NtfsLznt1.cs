using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// LZNT1, the compression of NTFS compressed attributes. Input = the stored clusters of one compression unit;
/// output = up to a unit's bytes. A unit is a series of chunks of at most 4096 output bytes, each with a u16 header
/// (size-3 in bits 0..11, bit 15 = compressed). Short compressed chunks are zero-filled to 4096 (as ntfs-3g and the
/// Linux driver do), so chunk i always lands at output offset i*4096.
/// </summary>
internal static class NtfsLznt1
{
    public const int ChunkSize = 4096;
    private const ushort HeaderCompressed = 0x8000;
    private const int HeaderSizeMask = 0x0FFF;

    /// <summary>Decompresses into <paramref name="output"/> (fully written: zeros after the data); returns bytes produced by chunks.</summary>
    public static int Decompress(ReadOnlySpan<byte> input, Span<byte> output, string where, long offset)
    {
        int ip = 0, op = 0;
        // Each iteration consumes at least 3 input bytes or stops: bounded by the input length.
        while (ip + 2 <= input.Length && op < output.Length)
        {
            ushort header = BinaryPrimitives.ReadUInt16LittleEndian(input[ip..]);
            if (header == 0) break;
            int chunkLen = (header & HeaderSizeMask) + 1; // payload bytes after the header
            int payloadStart = ip + 2;
            if (payloadStart + chunkLen > input.Length)
                throw new CorruptDataException(where, offset + ip, $"LZNT1 chunk of {chunkLen} bytes runs past the compression unit");
            var payload = input.Slice(payloadStart, chunkLen);
            int room = Math.Min(ChunkSize, output.Length - op);
            var chunkOut = output.Slice(op, room);
            if ((header & HeaderCompressed) == 0)
            {
                // Raw chunk: the payload is the 4096 output bytes as they are.
                if (chunkLen != ChunkSize)
                    throw new CorruptDataException(where, offset + ip, $"uncompressed LZNT1 chunk holds {chunkLen} bytes, not {ChunkSize}");
                payload[..room].CopyTo(chunkOut);
            }
            else
            {
                int produced = DecompressChunk(payload, chunkOut, where, offset + payloadStart);
                chunkOut[produced..].Clear();
            }
            op += room;
            ip = payloadStart + chunkLen;
        }
        int result = op;
        output[op..].Clear();
        return result;
    }

    private static int DecompressChunk(ReadOnlySpan<byte> src, Span<byte> dst, string where, long offset)
    {
        int ip = 0, op = 0;
        while (ip < src.Length && op < dst.Length)
        {
            byte flags = src[ip++];
            for (int bit = 0; bit < 8 && ip < src.Length && op < dst.Length; bit++)
            {
                if ((flags & (1 << bit)) == 0)
                {
                    dst[op++] = src[ip++];
                    continue;
                }
                if (ip + 2 > src.Length) throw new CorruptDataException(where, offset + ip, "LZNT1 back-reference cut short");
                ushort token = BinaryPrimitives.ReadUInt16LittleEndian(src[ip..]);
                ip += 2;
                // The split between offset and length bits depends on how much this chunk has produced so far.
                int offsetBits = 4;
                while ((1 << offsetBits) < op) offsetBits++;
                int distance = (token >> (16 - offsetBits)) + 1;
                int length = (token & (0xFFFF >> offsetBits)) + 3;
                if (distance > op) throw new CorruptDataException(where, offset + ip - 2, $"LZNT1 back-reference reaches {distance} bytes back, only {op} produced");
                if (length > dst.Length - op) length = dst.Length - op;
                int from = op - distance;
                // Byte by byte: overlapping copies repeat the pattern (distance 1 repeats the last byte).
                for (int i = 0; i < length; i++) dst[op + i] = dst[from + i];
                op += length;
            }
        }
        return op;
    }
}
