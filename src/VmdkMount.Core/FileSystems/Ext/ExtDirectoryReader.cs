using System.Buffers;
using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// One parsed directory: its entries in on-disk order (without `.` and `..`), a name index for lookup (keyed by the
/// shown name, so lookup is exact), and the entries no name can show.
/// </summary>
internal sealed class ExtDirectory
{
    public required ExtDirEntry[] Entries { get; init; }
    public required UnshownEntry[] Unshown { get; init; }
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
/// The directory's own `.` and `..` are the first two records of its first block (an inline directory has none);
/// any other record named `.` or `..`, a live record with an empty name, and a second record with the same bytes as
/// an earlier one are left out and listed in <see cref="ExtDirectory.Unshown"/>.
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

    /// <summary>
    /// The inode number and file type of every live entry but `.` and `..`, without decoding names (the change
    /// locator's walk of a folder that is the same in both points needs no more). False, with nothing promised about
    /// <paramref name="into"/>, for an inline directory or a record that does not parse: the caller reads it properly.
    /// </summary>
    public static bool TryScanInodes(ExtVolume vol, ExtInode dir, ExtDataMap map, List<(uint Inode, byte FileType)> into)
    {
        if (dir.Has(ExtInode.FlagInlineData) || dir.Size > MaxDirectoryBytes) return false;
        int bs = vol.BlockSize;
        long blocks = (dir.Size + bs - 1) / bs;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(bs);
        try
        {
            for (long logical = 0; logical < blocks; logical++)
            {
                long? physical = map.Map(logical, out _);
                if (physical is null || physical == ExtDataMap.Unwritten) continue;
                var block = buffer.AsSpan(0, bs);
                vol.ReadExactly(vol.BlockOffset((ulong)physical.Value), block, $"directory inode {dir.Number} block {physical}");
                for (int off = 0; off + HeaderSize <= bs;)
                {
                    uint inode = BinaryPrimitives.ReadUInt32LittleEndian(block[(off + InodeOffset)..]);
                    int recLen = BinaryPrimitives.ReadUInt16LittleEndian(block[(off + RecLenOffset)..]);
                    int nameLen = block[off + NameLenOffset];
                    if (recLen < HeaderSize || recLen % 4 != 0 || off + recLen > bs || HeaderSize + nameLen > recLen) return false;
                    var name = block.Slice(off + HeaderSize, nameLen);
                    bool dots = name.SequenceEqual("."u8) || name.SequenceEqual(".."u8);
                    if (inode != 0 && nameLen > 0 && !dots) into.Add((inode, block[off + FileTypeOffset]));
                    if (into.Count > MaxEntries) return false;
                    off += recLen;
                }
            }
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public static ExtDirectory Read(ExtVolume vol, ExtInode dir, Func<ExtInode, ExtDataMap> mapOf)
    {
        var entries = new List<ExtDirEntry>();
        var unshown = new List<UnshownEntry>();
        uint parent = 0;
        string where = $"{vol.Name} directory inode {dir.Number}";
        if (dir.Has(ExtInode.FlagInlineData))
        {
            parent = BinaryPrimitives.ReadUInt32LittleEndian(dir.Block);
            ParseArea(vol, dir.Block.AsSpan(4), dir.Offset + ExtInode.BlockOffset + 4, where, entries, unshown, ref parent, checkTail: false, 0, firstBlock: false);
            var extra = ExtInlineData.SystemData(vol, dir);
            if (!extra.IsEmpty) ParseArea(vol, extra, dir.Offset, where, entries, unshown, ref parent, checkTail: false, 0, firstBlock: false);
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
                    ParseArea(vol, block, at, where, entries, unshown, ref parent, checkTail: vol.Sb.MetadataCsum, seed, firstBlock: logical == 0);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        var byName = new Dictionary<string, int>(entries.Count, StringComparer.Ordinal);
        var shown = new List<ExtDirEntry>(entries.Count);
        foreach (var e in entries)
        {
            if (byName.TryAdd(e.Name, shown.Count)) shown.Add(e);
            else unshown.Add(new UnshownEntry(e.Name, e.Inode, "a second entry with the same name (the name shows the first)"));
        }
        entries = shown;
        Dictionary<string, int>? ignoreCase = null;
        if (dir.Has(ExtInode.FlagCasefold))
        {
            ignoreCase = new Dictionary<string, int>(entries.Count, StringComparer.OrdinalIgnoreCase);
            for (int i = 0; i < entries.Count; i++) ignoreCase.TryAdd(entries[i].Name, i);
        }
        return new ExtDirectory { Entries = [.. entries], Unshown = [.. unshown], Parent = parent, ByName = byName, ByNameIgnoreCase = ignoreCase };
    }

    private static void ParseArea(ExtVolume vol, ReadOnlySpan<byte> area, long at, string where, List<ExtDirEntry> entries,
        List<UnshownEntry> unshown, ref uint parent, bool checkTail, uint seed, bool firstBlock)
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
        int record = 0;
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
            if (inode != 0 && nameLen == 0)
                unshown.Add(new UnshownEntry("", inode, "a live entry with an empty name"));
            else if (inode != 0)
            {
                if (inode > vol.Sb.InodesCount)
                    throw new CorruptDataException(where, at + pos, $"entry points to inode {inode}, beyond the {vol.Sb.InodesCount} inodes");
                var name = area.Slice(pos + HeaderSize, nameLen);
                bool own = firstBlock && record < 2;
                if (name.SequenceEqual("."u8) && own && record == 0) { }
                else if (name.SequenceEqual(".."u8) && own && record == 1) parent = inode;
                else if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8))
                {
                    if (name.Length == 2 && parent == 0) parent = inode; // no real `..` seen: the best guess for depth
                    unshown.Add(new UnshownEntry(name.Length == 1 ? "." : "..", inode, "only the directory's own first two entries may be named `.` and `..`"));
                }
                else
                {
                    if (entries.Count >= MaxEntries)
                        throw new UnsupportedFeatureException(where, $"directory with more than {MaxEntries} entries");
                    entries.Add(new ExtDirEntry(ExtNames.Decode(name), inode, fileType));
                }
            }
            pos += recLen;
            record++;
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
