using System.Buffers.Binary;
using System.Numerics;

namespace VmdkMount.Core.FileSystems;

/// <summary>
/// CRC-32C (Castagnoli, reflected) without the initial or final inversion, so each format applies its own seed and
/// inversion. BitOperations uses the CPU's crc32 instruction where there is one: ext4 checksums every inode and
/// directory block it reads, and a table walk there was a twentieth of the time of listing a large tree.
/// </summary>
internal static class Crc32C
{
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        int i = 0;
        for (; data.Length - i >= 8; i += 8) crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        for (; i < data.Length; i++) crc = BitOperations.Crc32C(crc, data[i]);
        return crc;
    }
}
