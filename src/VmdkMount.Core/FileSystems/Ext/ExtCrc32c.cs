namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) as ext4's metadata_csum uses it: the kernel's
/// <c>crc32c(seed, data)</c> with neither the initial nor the final inversion applied here; callers start from
/// <c>~0</c> (superblock) or from a seed derived from the volume UUID, exactly as ext4 does.
/// </summary>
internal static class ExtCrc32c
{
    public static uint Update(uint crc, ReadOnlySpan<byte> data) => Crc32C.Update(crc, data);

    public static uint UpdateUInt32(uint crc, uint value) => System.Numerics.BitOperations.Crc32C(crc, value);
}
