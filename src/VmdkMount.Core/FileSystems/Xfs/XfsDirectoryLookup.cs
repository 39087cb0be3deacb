using System.Buffers.Binary;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems.Ext;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>
/// Finds one name in a block, leaf or node directory through its hash index (xfs.md §5.8) without listing it: the
/// in-block leaf array, the LEAF1 block, or the DA B+tree down to a LEAFN block, binary-searched by the name's
/// hash; each candidate address is then read in its data block and compared by name (hashes collide). A node
/// lookup reads the tree's depth in index blocks plus one data block, all through the verified block cache.
/// </summary>
internal static class XfsDirectoryLookup
{
    private const int FreeTag = 0xFFFF;
    private const int LeafEntrySize = 8;
    private const int BlockTailSize = 8;
    private const int ForwOffset = 0;
    /// <summary>The kernel's maximum DA tree depth (XFS_DA_NODE_MAXDEPTH).</summary>
    private const int MaxDepth = 5;
    /// <summary>Equal hashes spill into right siblings only for real collisions: a few leaves at most.</summary>
    private const int MaxSiblingSteps = 1024;

    /// <summary>The inode of the entry named <paramref name="name"/> (raw bytes), or null when there is none.</summary>
    public static ulong? Find(XfsVolume vol, XfsDirectoryBlocks blocks, XfsInode dir, ExtDataMap map, ReadOnlySpan<byte> name)
    {
        bool ci = vol.Sb.AsciiCaseInsensitive;
        uint hash = XfsDaHash.Hash(name, ci);
        string where = $"{vol.Name} directory inode {dir.Number} hash index";
        bool v5 = vol.Sb.HasCrc;
        int daHeader = v5 ? 64 : 16, countAt = v5 ? 56 : 12, levelAt = v5 ? 58 : 14;

        long? leafSpace = map.Map(blocks.LeafStart, out _);
        if (leafSpace is null || leafSpace == ExtDataMap.Unwritten)
        {
            var block = blocks.Read(dir, map, 0);
            if (!blocks.IsBlockMagic(BinaryPrimitives.ReadUInt32BigEndian(block)))
                throw new CorruptDataException(where, dir.DataForkByteOffset, "no leaf block, and block 0 is not a single-block directory");
            uint count = BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(block.Length - BlockTailSize));
            long leafAt = block.Length - BlockTailSize - (long)count * LeafEntrySize;
            if (leafAt < daHeader) throw new CorruptDataException(where, dir.DataForkByteOffset, $"block tail claims {count} leaf entries");
            return SearchLeaf(vol, blocks, dir, map, block, (int)leafAt, (int)count, hash, name, ci, out _);
        }

        long dablk = blocks.LeafStart;
        int expectedLevel = -1;
        for (int depth = 0; depth <= MaxDepth; depth++)
        {
            var index = blocks.Read(dir, map, dablk);
            ushort magic = BinaryPrimitives.ReadUInt16BigEndian(index.AsSpan(XfsDirectoryBlocks.DaMagicOffset));
            int count = BinaryPrimitives.ReadUInt16BigEndian(index.AsSpan(countAt));
            bool isNode = magic == (v5 ? XfsDirectoryBlocks.NodeMagicV5 : XfsDirectoryBlocks.NodeMagicV4);
            bool isLeaf1 = magic == (v5 ? XfsDirectoryBlocks.Leaf1MagicV5 : XfsDirectoryBlocks.Leaf1MagicV4);
            bool isLeafN = magic == (v5 ? XfsDirectoryBlocks.LeafNMagicV5 : XfsDirectoryBlocks.LeafNMagicV4);
            if (isNode)
            {
                int level = BinaryPrimitives.ReadUInt16BigEndian(index.AsSpan(levelAt));
                if (level < 1 || level > MaxDepth || (expectedLevel >= 0 && level != expectedLevel) || count < 1 || count > (index.Length - daHeader) / 8)
                    throw new CorruptDataException(where, dir.DataForkByteOffset, $"DA node at block {dablk}: level {level}, {count} entries (expected level {expectedLevel})");
                long child = -1;
                for (int i = 0; i < count; i++)
                {
                    uint h = BinaryPrimitives.ReadUInt32BigEndian(index.AsSpan(daHeader + i * 8));
                    if (h >= hash) { child = BinaryPrimitives.ReadUInt32BigEndian(index.AsSpan(daHeader + i * 8 + 4)); break; }
                }
                if (child < 0) return null; // larger than every hash in the tree
                if (child < blocks.LeafStart || child >= blocks.FreeStart)
                    throw new CorruptDataException(where, dir.DataForkByteOffset, $"DA node at block {dablk} points to block {child}, outside the leaf space");
                dablk = child;
                expectedLevel = level - 1;
                continue;
            }
            if (!(isLeaf1 || isLeafN) || expectedLevel > 0 || (isLeaf1 && depth > 0))
                throw new CorruptDataException(where, dir.DataForkByteOffset, $"block {dablk} in the leaf space has magic 0x{magic:X4}, not the leaf or node expected here");
            for (int step = 0; step < MaxSiblingSteps; step++)
            {
                int limit = (index.Length - daHeader - (isLeaf1 ? 4 : 0)) / LeafEntrySize;
                if (count > limit) throw new CorruptDataException(where, dir.DataForkByteOffset, $"leaf block {dablk} claims {count} entries, room for {limit}");
                var found = SearchLeaf(vol, blocks, dir, map, index, daHeader, count, hash, name, ci, out bool runsOn);
                if (found is not null || !runsOn) return found;
                long forw = BinaryPrimitives.ReadUInt32BigEndian(index.AsSpan(ForwOffset));
                if (forw == 0) return null;
                if (forw < blocks.LeafStart || forw >= blocks.FreeStart)
                    throw new CorruptDataException(where, dir.DataForkByteOffset, $"leaf block {dablk} has its right sibling at block {forw}, outside the leaf space");
                dablk = forw;
                index = blocks.Read(dir, map, dablk);
                count = BinaryPrimitives.ReadUInt16BigEndian(index.AsSpan(countAt));
            }
            throw new CorruptDataException(where, dir.DataForkByteOffset, $"more than {MaxSiblingSteps} leaf blocks share one hash (a sibling loop)");
        }
        throw new CorruptDataException(where, dir.DataForkByteOffset, $"DA tree deeper than {MaxDepth} levels");
    }

    /// <param name="runsOn">True when the run of equal hashes reaches the end of this leaf: it may go on in the right sibling.</param>
    private static ulong? SearchLeaf(XfsVolume vol, XfsDirectoryBlocks blocks, XfsInode dir, ExtDataMap map, byte[] leaf, int at, int count,
        uint hash, ReadOnlySpan<byte> name, bool ci, out bool runsOn)
    {
        int lo = 0, hi = count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (BinaryPrimitives.ReadUInt32BigEndian(leaf.AsSpan(at + mid * LeafEntrySize)) < hash) lo = mid + 1;
            else hi = mid;
        }
        int i = lo;
        for (; i < count && BinaryPrimitives.ReadUInt32BigEndian(leaf.AsSpan(at + i * LeafEntrySize)) == hash; i++)
        {
            uint address = BinaryPrimitives.ReadUInt32BigEndian(leaf.AsSpan(at + i * LeafEntrySize + 4));
            if (address == 0) continue; // stale
            if (EntryAt(vol, blocks, dir, map, address, name, ci) is { } ino)
            {
                runsOn = false;
                return ino;
            }
        }
        runsOn = i == count && count > 0;
        return null;
    }

    private static ulong? EntryAt(XfsVolume vol, XfsDirectoryBlocks blocks, XfsInode dir, ExtDataMap map, uint address, ReadOnlySpan<byte> name, bool ci)
    {
        string where = $"{vol.Name} directory inode {dir.Number} hash index";
        long byteOffset = (long)address * 8;
        long dirBlock = byteOffset / blocks.DirBlockSize;
        int within = (int)(byteOffset % blocks.DirBlockSize);
        long dablk = dirBlock * blocks.FsBlocksPerDirBlock;
        if (dablk >= blocks.LeafStart) throw new CorruptDataException(where, dir.DataForkByteOffset, $"address {address} points outside the data space");
        var block = blocks.Read(dir, map, dablk);
        if (!blocks.IsDataMagic(BinaryPrimitives.ReadUInt32BigEndian(block)))
            throw new CorruptDataException(where, dir.DataForkByteOffset, $"address {address} points into block {dablk}, which is not a data block");
        int ftype = vol.Sb.HasFtype ? 1 : 0;
        if (within + 11 > block.Length || BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(within)) == FreeTag)
            throw new CorruptDataException(where, dir.DataForkByteOffset, $"address {address} points at no entry (block {dablk} offset {within})");
        int nameLen = block[within + 8];
        int entLen = (8 + 1 + nameLen + ftype + 2 + 7) & ~7;
        if (nameLen == 0 || within + entLen > block.Length || BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(within + entLen - 2)) != within)
            throw new CorruptDataException(where, dir.DataForkByteOffset, $"address {address} points at a malformed entry (block {dablk} offset {within})");
        if (!XfsDaHash.NamesEqual(block.AsSpan(within + 9, nameLen), name, ci)) return null;
        ulong ino = BinaryPrimitives.ReadUInt64BigEndian(block.AsSpan(within));
        vol.InodeOffset(ino, $"directory inode {dir.Number} entry", dir.DataForkByteOffset);
        return ino;
    }
}
