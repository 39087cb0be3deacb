using System.Buffers.Binary;
using System.Numerics;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>
/// CRC-32C as every v5 metadata object carries it (xfs.md §1.7): seed 0xFFFFFFFF, final inversion, computed over the
/// whole object with its own 4-byte CRC field taken as zero, stored little-endian although all else is big-endian.
/// </summary>
internal static class XfsCrc
{
    public static uint Compute(ReadOnlySpan<byte> obj, int crcOffset)
    {
        uint crc = Update(0xFFFFFFFFu, obj[..crcOffset]);
        crc = BitOperations.Crc32C(crc, 0u);
        crc = Update(crc, obj[(crcOffset + 4)..]);
        return ~crc;
    }

    public static uint Stored(ReadOnlySpan<byte> obj, int crcOffset) => BinaryPrimitives.ReadUInt32LittleEndian(obj[crcOffset..]);

    public static bool Matches(ReadOnlySpan<byte> obj, int crcOffset) => Compute(obj, crcOffset) == Stored(obj, crcOffset);

    public static uint Update(uint crc, ReadOnlySpan<byte> data) => Crc32C.Update(crc, data);
}
