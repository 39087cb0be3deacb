using System.Buffers.Binary;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems.Ext;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>One listed directory: entries in on-disk order (without `.` and `..`), a name index, and what no name can show.</summary>
internal sealed class XfsDirectory
{
    public required XfsDirEntry[] Entries { get; init; }
    public required UnshownEntry[] Unshown { get; init; }
    public required Dictionary<string, int> ByName { get; init; }
    /// <summary>ASCII case-insensitive index, built only on an ASCII-CI filesystem.</summary>
    public Dictionary<string, int>? ByNameIgnoreCase { get; init; }
}

/// <summary>A listed entry; <paramref name="FileType"/> is the entry's ftype byte (2: directory), 0 where the volume keeps none.</summary>
internal readonly record struct XfsDirEntry(string Name, ulong Inode, byte FileType)
{
    public const byte TypeDirectory = 2;
}

/// <summary>
/// Lists a directory in any of its forms (xfs.md §5): short form from the inode's fork, otherwise every data block of
/// the first 32 GiB of the directory's address space, found through its extent map (so holes left by deletions cost
/// nothing and the hash index is not needed to list). Each entry and unused region is checked (8-byte aligned length,
/// tag equal to its offset, inside the entry area, name length &gt;= 1, inode number naming an inode slot), and the
/// walk is bounded by the number of mapped blocks. Names are shown with the ext rule (<see cref="ExtNames"/>).
/// </summary>
internal static class XfsDirectoryReader
{
    private const int FreeTag = 0xFFFF;
    private const int DataHeaderV4 = 16, DataHeaderV5 = 64;
    private const int BlockTailSize = 8;
    private const int LeafEntrySize = 8;
    public const int MaxEntries = 10_000_000;

    public static XfsDirectory Read(XfsVolume vol, XfsDirectoryBlocks blocks, XfsInode dir, Func<XfsInode, ExtDataMap> mapOf)
    {
        var raw = new List<(byte[] Name, ulong Ino, byte Type)>();
        bool shortForm = dir.Format == XfsInode.FormatLocal;
        if (shortForm) ReadShortForm(vol, dir, raw);
        else ReadDataBlocks(vol, blocks, dir, mapOf(dir), raw);
        return Index(vol, raw, ownDotsStored: !shortForm);
    }

    /// <summary>Header: count, i8count, parent (4 or 8 bytes); entries: namelen, offset(2), name, [ftype], inode (4 or 8).</summary>
    private static void ReadShortForm(XfsVolume vol, XfsInode dir, List<(byte[], ulong, byte)> raw)
    {
        string where = $"{vol.Name} directory inode {dir.Number} (short form)";
        var fork = dir.DataFork.AsSpan(0, (int)dir.Size);
        long at = dir.DataForkByteOffset;
        if (fork.Length < 6) throw new CorruptDataException(where, at, $"size {dir.Size} is smaller than the short-form header");
        int count = fork[0];
        int i8 = fork[1];
        int inoSize = i8 != 0 ? 8 : 4;
        int pos = 2 + inoSize;
        if (pos > fork.Length) throw new CorruptDataException(where, at, "header cut off by the directory size");
        int ftype = vol.Sb.HasFtype ? 1 : 0;
        for (int e = 0; e < count; e++)
        {
            if (pos + 3 > fork.Length) throw new CorruptDataException(where, at + pos, $"entry {e} of {count} cut off by the directory size {dir.Size}");
            int nameLen = fork[pos];
            int next = pos + 3 + nameLen + ftype + inoSize;
            if (nameLen == 0 || next > fork.Length)
                throw new CorruptDataException(where, at + pos, $"entry {e} (name length {nameLen}) does not fit the directory size {dir.Size}");
            var name = fork.Slice(pos + 3, nameLen).ToArray();
            int inoAt = pos + 3 + nameLen + ftype;
            ulong ino = inoSize == 8 ? BinaryPrimitives.ReadUInt64BigEndian(fork[inoAt..]) : BinaryPrimitives.ReadUInt32BigEndian(fork[inoAt..]);
            vol.InodeOffset(ino, $"directory inode {dir.Number} entry", at + inoAt);
            raw.Add((name, ino, ftype != 0 ? fork[pos + 3 + nameLen] : (byte)0));
            pos = next;
        }
        if (pos != fork.Length) throw new CorruptDataException(where, at + pos, $"{count} entries end at {pos}, the directory size is {dir.Size}");
    }

    private static void ReadDataBlocks(XfsVolume vol, XfsDirectoryBlocks blocks, XfsInode dir, ExtDataMap map, List<(byte[], ulong, byte)> raw)
    {
        int k = blocks.FsBlocksPerDirBlock;
        long pos = 0;
        // Each map step moves to the next run or past a hole, so the walk is bounded by the map's run count.
        for (int step = 0; pos < blocks.LeafStart && step <= 2 * map.RunCount + 1; step++)
        {
            long? physical = map.Map(pos, out long run);
            if (run == long.MaxValue) break;
            long runEnd = Math.Min(pos + run, blocks.LeafStart);
            if (physical is not null)
                for (long dablk = (pos + k - 1) / k * k; dablk < runEnd; dablk += k)
                    ParseDataBlock(vol, blocks, dir, map, dablk, raw);
            pos = runEnd;
        }
    }

    private static void ParseDataBlock(XfsVolume vol, XfsDirectoryBlocks blocks, XfsInode dir, ExtDataMap map, long dablk, List<(byte[], ulong, byte)> raw)
    {
        string where = $"{vol.Name} directory inode {dir.Number} block {dablk}";
        var block = blocks.Read(dir, map, dablk);
        long blockAt = (map.Map(dablk, out _) ?? 0) * vol.BlockSize;
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(block);
        if (!blocks.IsDataMagic(magic))
            throw new CorruptDataException(where, blockAt, $"magic 0x{magic:X8} is not a directory data block (below the 32 GiB leaf offset)");
        int end = block.Length;
        if (blocks.IsBlockMagic(magic))
        {
            if (dablk != 0) throw new CorruptDataException(where, blockAt, "a single-block directory header on a block other than the first");
            uint count = BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(block.Length - BlockTailSize));
            long leafBytes = (long)count * LeafEntrySize;
            if (leafBytes > block.Length - BlockTailSize - DataHeaderV5)
                throw new CorruptDataException(where, blockAt, $"block tail claims {count} leaf entries, more than the block holds");
            end = (int)(block.Length - BlockTailSize - leafBytes);
        }
        int p = vol.Sb.HasCrc ? DataHeaderV5 : DataHeaderV4;
        int ftype = vol.Sb.HasFtype ? 1 : 0;
        for (int guard = 0; p < end && guard < block.Length / 8; guard++)
        {
            if (end - p < 8) throw new CorruptDataException(where, blockAt + p, $"entry at {p} cut off by the entry area end {end}");
            bool free = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(p)) == FreeTag;
            // the smallest entry (1-byte name) takes 16 bytes; the smallest unused region 8
            if (!free && end - p < 16) throw new CorruptDataException(where, blockAt + p, $"entry at {p} cut off by the entry area end {end}");
            if (free)
            {
                int len = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(p + 2));
                if (len < 8 || len % 8 != 0 || p + len > end || BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(p + len - 2)) != p)
                    throw new CorruptDataException(where, blockAt + p, $"unused region at {p} of length {len} is malformed");
                p += len;
                continue;
            }
            ulong ino = BinaryPrimitives.ReadUInt64BigEndian(block.AsSpan(p));
            int nameLen = block[p + 8];
            int entLen = (8 + 1 + nameLen + ftype + 2 + 7) & ~7;
            if (nameLen == 0 || p + entLen > end)
                throw new CorruptDataException(where, blockAt + p, $"entry at {p} (name length {nameLen}) does not fit the entry area ending at {end}");
            if (BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(p + entLen - 2)) != p)
                throw new CorruptDataException(where, blockAt + p, $"entry at {p} has a tag that is not its own offset");
            vol.InodeOffset(ino, $"directory inode {dir.Number} entry", blockAt + p);
            raw.Add((block.AsSpan(p + 9, nameLen).ToArray(), ino, ftype != 0 ? block[p + 9 + nameLen] : (byte)0));
            if (raw.Count > MaxEntries) throw new UnsupportedFeatureException(where, $"directory with more than {MaxEntries} entries");
            p += entLen;
        }
        if (p < end) throw new CorruptDataException(where, blockAt + p, "entry area walk did not end (more records than the block can hold)");
    }

    /// <summary>Drops the directory's own `.`/`..`, keeps the first of duplicate names, reports what cannot be shown.</summary>
    private static XfsDirectory Index(XfsVolume vol, List<(byte[] Name, ulong Ino, byte Type)> raw, bool ownDotsStored)
    {
        var entries = new List<XfsDirEntry>(raw.Count);
        var unshown = new List<UnshownEntry>();
        var byName = new Dictionary<string, int>(raw.Count, StringComparer.Ordinal);
        // a short-form directory stores neither: any such name there is one no listing can show
        bool sawDot = !ownDotsStored, sawDotDot = !ownDotsStored;
        foreach (var (nameBytes, ino, type) in raw)
        {
            bool dot = nameBytes.AsSpan().SequenceEqual("."u8), dotDot = nameBytes.AsSpan().SequenceEqual(".."u8);
            if (dot || dotDot)
            {
                // data-block directories store their own `.` and `..` as the first two entries; short form stores none
                if (dot && !sawDot && entries.Count == 0) { sawDot = true; continue; }
                if (dotDot && ownDotsStored && sawDot && !sawDotDot && entries.Count == 0) { sawDotDot = true; continue; }
                unshown.Add(new UnshownEntry(dot ? "." : "..", (long)ino, "only the directory's own first two entries may be named `.` and `..`"));
                continue;
            }
            string name = ExtNames.Decode(nameBytes);
            if (byName.TryAdd(name, entries.Count)) entries.Add(new XfsDirEntry(name, ino, type));
            else unshown.Add(new UnshownEntry(name, (long)ino, "a second entry with the same name (the name shows the first)"));
        }
        Dictionary<string, int>? ignoreCase = null;
        if (vol.Sb.AsciiCaseInsensitive)
        {
            ignoreCase = new Dictionary<string, int>(entries.Count, AsciiIgnoreCase.Instance);
            for (int i = 0; i < entries.Count; i++) ignoreCase.TryAdd(entries[i].Name, i);
        }
        return new XfsDirectory { Entries = [.. entries], Unshown = [.. unshown], ByName = byName, ByNameIgnoreCase = ignoreCase };
    }

    /// <summary>Equality that folds A-Z only, as XFS's ASCII-CI mode does.</summary>
    private sealed class AsciiIgnoreCase : IEqualityComparer<string>
    {
        public static readonly AsciiIgnoreCase Instance = new();
        public bool Equals(string? x, string? y) => x is not null && y is not null && x.Length == y.Length && Fold(x) == Fold(y);
        public int GetHashCode(string s) => StringComparer.Ordinal.GetHashCode(Fold(s));
        private static string Fold(string s) => string.Create(s.Length, s, (span, src) =>
        {
            for (int i = 0; i < src.Length; i++) span[i] = src[i] is >= 'A' and <= 'Z' ? (char)(src[i] + 32) : src[i];
        });
    }
}
