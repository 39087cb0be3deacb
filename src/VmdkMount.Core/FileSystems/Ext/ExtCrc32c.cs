namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) as ext4's metadata_csum uses it: the kernel's
/// <c>crc32c(seed, data)</c> with neither the initial nor the final inversion applied here; callers start from
/// <c>~0</c> (superblock) or from a seed derived from the volume UUID, exactly as ext4 does.
/// </summary>
internal static class ExtCrc32c
{
    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var table = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            table[i] = c;
        }
        // slicing-by-8 tables: table[k*256 + i] = crc of byte i followed by k zero bytes
        for (int k = 1; k < 8; k++)
            for (int i = 0; i < 256; i++)
            {
                uint prev = table[(k - 1) * 256 + i];
                table[k * 256 + i] = (prev >> 8) ^ table[prev & 0xFF];
            }
        return table;
    }

    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        var t = Table;
        int i = 0;
        while (data.Length - i >= 8)
        {
            uint lo = crc ^ (uint)(data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24);
            uint hi = (uint)(data[i + 4] | data[i + 5] << 8 | data[i + 6] << 16 | data[i + 7] << 24);
            crc = t[7 * 256 + (lo & 0xFF)] ^ t[6 * 256 + ((lo >> 8) & 0xFF)] ^ t[5 * 256 + ((lo >> 16) & 0xFF)] ^ t[4 * 256 + (lo >> 24)]
                ^ t[3 * 256 + (hi & 0xFF)] ^ t[2 * 256 + ((hi >> 8) & 0xFF)] ^ t[256 + ((hi >> 16) & 0xFF)] ^ t[hi >> 24];
            i += 8;
        }
        for (; i < data.Length; i++) crc = (crc >> 8) ^ t[(crc ^ data[i]) & 0xFF];
        return crc;
    }

    public static uint UpdateUInt32(uint crc, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return Update(crc, b);
    }
}
