using System.Buffers;
using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>One parsed directory: its entries in on-disk order (without `.` and `..`), and a name index for lookup.</summary>
internal sealed class ExtDirectory
{
    public required ExtDirEntry[] Entries { get; init; }
    public required uint Parent { get; init; }
    public required Dictionary<string, int> ByName { get; init; }
    /// <summary>Case-insensitive index, built only for casefold directories.</summary>
    public Dictionary<string, int>? ByNameIgnoreCase { get; init; }
}

internal readonly record struct ExtDirEntry(string Name, uint Inode, byte FileType);

/// <summary>
/// Reads directory entries (ext2_dir_entry_2) linearly, block by block. htree (dir_index) directories are read the
/// same way: their index blocks look like empty records to a linear reader, so all names come from the leaf blocks.
/// Inline directories (inline_data) hold the parent inode in the first 4 bytes of i_block, then entries in the rest
/// of i_block and in system.data. Every record is checked (rec_len &gt;= 8, multiple of 4, inside the block; name
/// inside the record; inode number in range) and the walk is bounded by the directory size.
/// </summary>
internal static class ExtDirectoryReader
{
    private const int InodeOffset = 0;
    private const int RecLenOffset = 4;
    private const int NameLenOffset = 6;
    private const int FileTypeOffset = 7;
    private const int HeaderSize = 8;
    private const int TailSize = 12;
    private const byte TailFileType = 0xDE;
    private const int MaxEntries = 10_000_000;
    private const long MaxDirectoryBytes = 4L << 30;

    public static ExtDirectory Read(ExtVolume vol, ExtInode dir, Func<ExtInode, ExtDataMap> mapOf)
    {
        var entries = new List<ExtDirEntry>();
        uint parent = 0;
        string where = $"{vol.Name} directory inode {dir.Number}";
        if (dir.Has(ExtInode.FlagInlineData))
        {
            parent = BinaryPrimitives.ReadUInt32LittleEndian(dir.Block);
            ParseArea(vol, dir.Block.AsSpan(4), dir.Offset + ExtInode.BlockOffset + 4, where, entries, ref parent, checkTail: false, 0);
            var extra = ExtInlineData.SystemData(vol, dir);
            if (!extra.IsEmpty) ParseArea(vol, extra, dir.Offset, where, entries, ref parent, checkTail: false, 0);
        }
        else
        {
            if (dir.Size > MaxDirectoryBytes)
                throw new CorruptDataException(where, dir.Offset, $"directory size {dir.Size} is absurd");
            var map = mapOf(dir);
            int bs = vol.BlockSize;
            long blocks = (dir.Size + bs - 1) / bs;
            uint seed = vol.Sb.MetadataCsum ? vol.InodeChecksumSeed(dir) : 0;
            byte[] buffer = ArrayPool<byte>.Shared.Rent(bs);
            try
            {
                for (long logical = 0; logical < blocks; logical++)
                {
                    long? physical = map.Map(logical, out _);
                    if (physical is null || physical == ExtDataMap.Unwritten) continue; // a hole: no entries
                    long at = vol.BlockOffset((ulong)physical.Value);
                    var block = buffer.AsSpan(0, bs);
                    vol.ReadExactly(at, block, $"directory inode {dir.Number} block {physical}");
                    ParseArea(vol, block, at, where, entries, ref parent, checkTail: vol.Sb.MetadataCsum, seed);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        var byName = new Dictionary<string, int>(entries.Count, StringComparer.Ordinal);
        for (int i = 0; i < entries.Count; i++) byName.TryAdd(entries[i].Name, i);
        Dictionary<string, int>? ignoreCase = null;
        if (dir.Has(ExtInode.FlagCasefold))
        {
            ignoreCase = new Dictionary<string, int>(entries.Count, StringComparer.OrdinalIgnoreCase);
            for (int i = 0; i < entries.Count; i++) ignoreCase.TryAdd(entries[i].Name, i);
        }
        return new ExtDirectory { Entries = [.. entries], Parent = parent, ByName = byName, ByNameIgnoreCase = ignoreCase };
    }

    private static void ParseArea(ExtVolume vol, ReadOnlySpan<byte> area, long at, string where, List<ExtDirEntry> entries,
        ref uint parent, bool checkTail, uint seed)
    {
        if (checkTail && HasTail(area))
        {
            uint stored = BinaryPrimitives.ReadUInt32LittleEndian(area[^4..]);
            uint computed = ExtCrc32c.Update(seed, area[..^TailSize]);
            if (stored != computed)
                vol.Warnings.Add($"{where}: directory block checksum mismatch at offset {at + area.Length - 4} (stored 0x{stored:X8}, computed 0x{computed:X8})");
        }
        bool fileTypes = vol.Sb.Has(ExtSuperblock.IncompatFiletype);
        int pos = 0;
        while (pos < area.Length)
        {
            if (area.Length - pos < HeaderSize)
                throw new CorruptDataException(where, at + pos, $"directory record header cut off by the block end ({area.Length - pos} bytes left)");
            uint inode = BinaryPrimitives.ReadUInt32LittleEndian(area[(pos + InodeOffset)..]);
            int recLen = BinaryPrimitives.ReadUInt16LittleEndian(area[(pos + RecLenOffset)..]);
            if (area.Length == 65536 && (recLen == 0 || recLen == 65535)) recLen = 65536; // 64 KiB blocks encode 65536 this way
            int nameLen = fileTypes ? area[pos + NameLenOffset] : BinaryPrimitives.ReadUInt16LittleEndian(area[(pos + NameLenOffset)..]);
            byte fileType = fileTypes ? area[pos + FileTypeOffset] : (byte)0;
            if (recLen < HeaderSize || (recLen & 3) != 0 || recLen > area.Length - pos)
                throw new CorruptDataException(where, at + pos + RecLenOffset, $"directory record length {recLen} invalid ({area.Length - pos} bytes left in the block)");
            if (nameLen + HeaderSize > recLen)
                throw new CorruptDataException(where, at + pos + NameLenOffset, $"name length {nameLen} does not fit record length {recLen}");
            if (inode != 0 && nameLen > 0)
            {
                if (inode > vol.Sb.InodesCount)
                    throw new CorruptDataException(where, at + pos, $"entry points to inode {inode}, beyond the {vol.Sb.InodesCount} inodes");
                var name = area.Slice(pos + HeaderSize, nameLen);
                if (name.SequenceEqual("."u8)) { }
                else if (name.SequenceEqual(".."u8)) parent = inode;
                else
                {
                    if (entries.Count >= MaxEntries)
                        throw new UnsupportedFeatureException(where, $"directory with more than {MaxEntries} entries");
                    entries.Add(new ExtDirEntry(ExtNames.Decode(name), inode, fileType));
                }
            }
            pos += recLen;
        }
    }

    private static bool HasTail(ReadOnlySpan<byte> block)
    {
        if (block.Length < TailSize) return false;
        var t = block[^TailSize..];
        return BinaryPrimitives.ReadUInt32LittleEndian(t) == 0 && BinaryPrimitives.ReadUInt16LittleEndian(t[RecLenOffset..]) == TailSize
            && t[NameLenOffset] == 0 && t[FileTypeOffset] == TailFileType;
    }
}
