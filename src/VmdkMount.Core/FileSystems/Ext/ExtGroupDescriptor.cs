using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// Block group descriptors: 32 bytes, or s_desc_size (64) with the 64bit feature. Only the inode table location is
/// needed to read files; flex_bg needs nothing special because the descriptor holds absolute block numbers.
/// Where the descriptor block of a group lives: classic layout right after the superblock, or with meta_bg in the
/// first group of each meta-group (+1 when that group holds a superblock backup).
/// </summary>
internal sealed class ExtGroupDescriptor
{
    private const int BlockBitmapLoOffset = 0x00;
    private const int InodeBitmapLoOffset = 0x04;
    private const int InodeTableLoOffset = 0x08;
    private const int BlockBitmapHiOffset = 0x20;
    private const int InodeBitmapHiOffset = 0x24;
    private const int FlagsOffset = 0x12;
    private const int ChecksumOffset = 0x1E;
    private const int InodeTableHiOffset = 0x28;

    public const ushort FlagInodeUninit = 0x1;
    /// <summary>The group's block bitmap was never written (its bits are computed, not stored).</summary>
    public const ushort FlagBlockUninit = 0x2;

    private readonly ExtSuperblock _sb;

    public ExtGroupDescriptor(ExtSuperblock sb) => _sb = sb;

    private int PerBlock => _sb.BlockSize / _sb.DescriptorSize;

    /// <summary>Block number of the descriptor block holding group <paramref name="group"/>, and the byte offset in it.</summary>
    public (ulong Block, int Offset) Locate(uint group)
    {
        uint b = group / (uint)PerBlock;
        int offset = (int)(group % (uint)PerBlock) * _sb.DescriptorSize;
        ulong block;
        if (!_sb.Has(ExtSuperblock.IncompatMetaBg) || b < _sb.FirstMetaBg)
            block = (ulong)_sb.FirstDataBlock + 1 + b;
        else
        {
            uint first = b * (uint)PerBlock;
            block = _sb.FirstDataBlock + (ulong)first * _sb.BlocksPerGroup + (_sb.GroupHasSuperblock(first) ? 1UL : 0);
        }
        return (block, offset);
    }

    /// <summary>Reads the inode table block and flags of one group from its descriptor bytes.</summary>
    public (ulong InodeTable, ushort Flags, string? ChecksumProblem) Parse(uint group, ReadOnlySpan<byte> d, long byteOffset, string where)
    {
        ulong table = BinaryPrimitives.ReadUInt32LittleEndian(d[InodeTableLoOffset..]);
        if (_sb.DescriptorSize >= 64) table |= (ulong)BinaryPrimitives.ReadUInt32LittleEndian(d[InodeTableHiOffset..]) << 32;
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(d[FlagsOffset..]);
        ulong tableBlocks = ((ulong)_sb.InodesPerGroup * (ulong)_sb.InodeSize + (ulong)_sb.BlockSize - 1) / (ulong)_sb.BlockSize;
        if (table == 0 || table + tableBlocks > _sb.BlocksCount)
            throw new CorruptDataException($"{where} group descriptor {group}", byteOffset + InodeTableLoOffset,
                $"inode table block {table} outside the filesystem ({_sb.BlocksCount} blocks)");
        string? problem = null;
        if (_sb.MetadataCsum)
        {
            uint crc = ExtCrc32c.UpdateUInt32(_sb.ChecksumSeed, group);
            crc = ExtCrc32c.Update(crc, d[..ChecksumOffset]);
            crc = ExtCrc32c.Update(crc, [0, 0]);
            if (_sb.DescriptorSize > ChecksumOffset + 2) crc = ExtCrc32c.Update(crc, d[(ChecksumOffset + 2).._sb.DescriptorSize]);
            ushort stored = BinaryPrimitives.ReadUInt16LittleEndian(d[ChecksumOffset..]);
            if ((ushort)crc != stored)
                problem = $"{where}: group descriptor {group} checksum mismatch at offset {byteOffset + ChecksumOffset} (stored 0x{stored:X4}, computed 0x{(ushort)crc:X4})";
        }
        else if (_sb.HasRo(ExtSuperblock.RoCompatGdtCsum))
        {
            // gdt_csum (uninit_bg): crc16 over UUID, group number and descriptor without its checksum field
            ushort crc = Crc16(0xFFFF, _sb.Uuid);
            Span<byte> le = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(le, group);
            crc = Crc16(crc, le);
            crc = Crc16(crc, d[..ChecksumOffset]);
            if (_sb.DescriptorSize > ChecksumOffset + 2) crc = Crc16(crc, d[(ChecksumOffset + 2).._sb.DescriptorSize]);
            ushort stored = BinaryPrimitives.ReadUInt16LittleEndian(d[ChecksumOffset..]);
            if (crc != stored)
                problem = $"{where}: group descriptor {group} checksum (crc16) mismatch at offset {byteOffset + ChecksumOffset} (stored 0x{stored:X4}, computed 0x{crc:X4})";
        }
        return (table, flags, problem);
    }

    /// <summary>The block and inode bitmap blocks of one group (the change locator reads which blocks are free).</summary>
    public (ulong BlockBitmap, ulong InodeBitmap) Bitmaps(ReadOnlySpan<byte> d)
    {
        ulong block = BinaryPrimitives.ReadUInt32LittleEndian(d[BlockBitmapLoOffset..]);
        ulong inode = BinaryPrimitives.ReadUInt32LittleEndian(d[InodeBitmapLoOffset..]);
        if (_sb.DescriptorSize >= 64)
        {
            block |= (ulong)BinaryPrimitives.ReadUInt32LittleEndian(d[BlockBitmapHiOffset..]) << 32;
            inode |= (ulong)BinaryPrimitives.ReadUInt32LittleEndian(d[InodeBitmapHiOffset..]) << 32;
        }
        return (block, inode);
    }

    private static readonly ushort[] Crc16Table = BuildCrc16Table();

    /// <summary>CRC-16 (polynomial 0x8005, reflected: 0xA001) as the kernel's lib/crc16.c computes it.</summary>
    private static ushort Crc16(ushort crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) crc = (ushort)((crc >> 8) ^ Crc16Table[(crc ^ b) & 0xFF]);
        return crc;
    }

    private static ushort[] BuildCrc16Table()
    {
        var t = new ushort[256];
        for (int i = 0; i < 256; i++)
        {
            int c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ 0xA001 : c >> 1;
            t[i] = (ushort)c;
        }
        return t;
    }
}
