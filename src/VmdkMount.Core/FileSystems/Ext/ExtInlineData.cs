using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// inline_data (incompat 0x8000, inode flag 0x10000000): the first 60 bytes of a small file or directory live in
/// i_block; the rest, if any, is the value of the in-inode extended attribute <c>system.data</c>.
/// In-inode xattrs start after 128 + i_extra_isize with the magic 0xEA020000; each entry's value offset counts from
/// the first entry (just after the magic).
/// </summary>
internal static class ExtInlineData
{
    public const uint XattrMagic = 0xEA020000;
    private const int EntryHeaderSize = 16;
    private const int NameLenOffset = 0;
    private const int NameIndexOffset = 1;
    private const int ValueOffsOffset = 2;
    private const int ValueInumOffset = 4;
    private const int ValueSizeOffset = 8;
    private const byte SystemIndex = 7;
    private static ReadOnlySpan<byte> DataName => "data"u8;

    /// <summary>The value of <c>system.data</c> from the in-inode xattr area, empty when absent.</summary>
    public static ReadOnlySpan<byte> SystemData(ExtVolume vol, ExtInode inode)
    {
        var area = inode.InlineXattrs.AsSpan();
        long at = inode.Offset + (vol.Sb.InodeSize - area.Length);
        if (area.Length < 4 || BinaryPrimitives.ReadUInt32LittleEndian(area) != XattrMagic) return [];
        var entries = area[4..];
        int pos = 0;
        while (pos + 4 <= entries.Length && BinaryPrimitives.ReadUInt32LittleEndian(entries[pos..]) != 0)
        {
            if (pos + EntryHeaderSize > entries.Length)
                throw new CorruptDataException(Where(vol, inode), at + 4 + pos, "xattr entry runs past the inode");
            int nameLen = entries[pos + NameLenOffset];
            byte index = entries[pos + NameIndexOffset];
            int valueOffs = BinaryPrimitives.ReadUInt16LittleEndian(entries[(pos + ValueOffsOffset)..]);
            uint valueInum = BinaryPrimitives.ReadUInt32LittleEndian(entries[(pos + ValueInumOffset)..]);
            long valueSize = BinaryPrimitives.ReadUInt32LittleEndian(entries[(pos + ValueSizeOffset)..]);
            if (pos + EntryHeaderSize + nameLen > entries.Length)
                throw new CorruptDataException(Where(vol, inode), at + 4 + pos, $"xattr name of {nameLen} bytes runs past the inode");
            var name = entries.Slice(pos + EntryHeaderSize, nameLen);
            if (index == SystemIndex && name.SequenceEqual(DataName))
            {
                if (valueInum != 0)
                    throw new CorruptDataException(Where(vol, inode), at + 4 + pos, "system.data stored in an EA inode (inline data must be in the inode)");
                if (valueSize == 0) return [];
                if (valueOffs + valueSize > entries.Length)
                    throw new CorruptDataException(Where(vol, inode), at + 4 + pos + ValueOffsOffset, $"system.data value ({valueSize} bytes at {valueOffs}) runs past the inode");
                return entries.Slice(valueOffs, (int)valueSize);
            }
            pos += (EntryHeaderSize + nameLen + 3) & ~3;
        }
        return [];
    }

    private static string Where(ExtVolume vol, ExtInode inode) => $"{vol.Name} inode {inode.Number} in-inode xattrs";

    /// <summary>The whole inline content of a file or symlink (i_size bytes), checked against what the inode holds.</summary>
    public static byte[] FileContent(ExtVolume vol, ExtInode inode)
    {
        var extra = SystemData(vol, inode);
        long available = ExtInode.BlockLength + extra.Length;
        if (inode.Size > available)
            throw new CorruptDataException($"{vol.Name} inode {inode.Number} inline data", inode.Offset,
                $"size {inode.Size} larger than the {available} inline bytes");
        var content = new byte[inode.Size];
        int first = (int)Math.Min(inode.Size, ExtInode.BlockLength);
        inode.Block.AsSpan(0, first).CopyTo(content);
        if (inode.Size > first) extra[..(int)(inode.Size - first)].CopyTo(content.AsSpan(first));
        return content;
    }
}
