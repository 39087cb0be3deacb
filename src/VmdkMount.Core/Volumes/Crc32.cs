namespace VmdkMount.Core.Volumes;

/// <summary>
/// Reflected CRC-32 with polynomial 0xEDB88320 (zlib/PNG). GPT uses the standard form (init and final XOR
/// 0xFFFFFFFF); LVM2 uses the same table with its own seed and no final XOR. System.IO.Hashing is not part of
/// the shared framework, so a 256-entry table of our own is cheaper than a package.
/// </summary>
internal static class Crc32
{
    private const uint Polynomial = 0xEDB88320;
    private const uint IeeeSeed = 0xFFFFFFFF;

    /// <summary>LVM2's seed (lib/misc/crc.h INITIAL_CRC).</summary>
    public const uint LvmSeed = 0xF597A6CF;

    private static readonly uint[] Table = BuildTable();

    /// <summary>Standard IEEE CRC-32: CRC32("123456789") = 0xCBF43926.</summary>
    public static uint Ieee(ReadOnlySpan<byte> data) => Update(IeeeSeed, data) ^ IeeeSeed;

    /// <summary>LVM2's CRC: LVM seed, no final XOR.</summary>
    public static uint Lvm(ReadOnlySpan<byte> data) => Update(LvmSeed, data);

    /// <summary>Continues a running CRC (no final XOR applied), so data split in pieces can be checked.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            table[i] = c;
        }
        return table;
    }
}
