using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// ext4 extent trees (inode flag 0x80000): the root is the inode's 60-byte i_block, deeper nodes are whole blocks.
/// The tree is walked once, iteratively with an explicit stack, into an <see cref="ExtDataMap"/>. Every node is
/// validated (magic, entries &lt;= max, depth exactly one less than the parent's, logical blocks strictly
/// increasing, physical ranges inside the filesystem) and the walk is bounded, so a damaged tree cannot loop.
/// Unwritten (preallocated) extents become zero runs.
/// </summary>
internal static class ExtExtentTree
{
    public const ushort Magic = 0xF30A;
    private const int HeaderSize = 12;
    private const int EntrySize = 12;
    private const int MagicOffset = 0;
    private const int EntriesOffset = 2;
    private const int MaxOffset = 4;
    private const int DepthOffset = 6;
    // leaf entry
    private const int LeafLogicalOffset = 0;
    private const int LeafLengthOffset = 4;
    private const int LeafStartHiOffset = 6;
    private const int LeafStartLoOffset = 8;
    // index entry
    private const int IndexLogicalOffset = 0;
    private const int IndexLeafLoOffset = 4;
    private const int IndexLeafHiOffset = 8;
    /// <summary>ee_len above this marks an unwritten extent of (ee_len - this) blocks.</summary>
    private const int InitMaxLength = 32768;
    private const int MaxDepth = 5;
    public const int MaxRuns = 4 << 20;
    private const int MaxNodes = 1 << 20;

    private readonly record struct Pending(ulong Block, int Depth, long FirstLogical, long EndLogical, long ReferencedAt);

    /// <param name="mapBlocks">When given, every index and leaf block read is added (the change locator explains their bytes by them).</param>
    public static ExtDataMap Build(ExtVolume vol, ExtInode inode, List<ulong>? mapBlocks = null)
    {
        string what = $"inode {inode.Number} extent tree";
        var builder = new ExtDataMap.Builder();
        var stack = new Stack<Pending>();
        long rootOffset = inode.Offset + ExtInode.BlockOffset;
        int rootDepth = ParseNode(vol, inode, inode.Block, rootOffset, -1, 0, 1L << 32, isRoot: true, builder, stack, what);
        if (rootDepth > MaxDepth)
            throw new CorruptDataException($"{vol.Name} {what}", rootOffset + DepthOffset, $"depth {rootDepth} exceeds {MaxDepth}");
        int nodes = 0;
        while (stack.Count > 0)
        {
            var p = stack.Pop();
            if (++nodes > MaxNodes)
                throw new CorruptDataException($"{vol.Name} {what}", p.ReferencedAt, $"more than {MaxNodes} extent nodes");
            var block = vol.ReadBlock(p.Block, what, p.ReferencedAt);
            mapBlocks?.Add(p.Block);
            long at = vol.BlockOffset(p.Block);
            ParseNode(vol, inode, block, at, p.Depth, p.FirstLogical, p.EndLogical, isRoot: false, builder, stack, what);
        }
        return builder.Build();
    }

    /// <summary>Validates one node; a leaf adds its extents, an index pushes its children (last first, so they pop in order).</summary>
    private static int ParseNode(ExtVolume vol, ExtInode inode, ReadOnlySpan<byte> node, long at, int expectedDepth,
        long firstLogical, long endLogical, bool isRoot, ExtDataMap.Builder builder, Stack<Pending> stack, string what)
    {
        string where = $"{vol.Name} {what}";
        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(node[MagicOffset..]);
        if (magic != Magic)
            throw new CorruptDataException(where, at + MagicOffset, $"bad extent header magic 0x{magic:X4} (expected 0x{Magic:X4})");
        int entries = BinaryPrimitives.ReadUInt16LittleEndian(node[EntriesOffset..]);
        int max = BinaryPrimitives.ReadUInt16LittleEndian(node[MaxOffset..]);
        int depth = BinaryPrimitives.ReadUInt16LittleEndian(node[DepthOffset..]);
        int capacity = (node.Length - HeaderSize) / EntrySize;
        if (max > capacity || entries > max)
            throw new CorruptDataException(where, at + EntriesOffset, $"extent node claims {entries} entries of max {max}; room for {capacity}");
        if (expectedDepth >= 0 && depth != expectedDepth)
            throw new CorruptDataException(where, at + DepthOffset, $"extent node depth {depth}, expected {expectedDepth} (loop or damaged index)");
        if (depth > MaxDepth)
            throw new CorruptDataException(where, at + DepthOffset, $"depth {depth} exceeds {MaxDepth}");
        if (!isRoot && vol.Sb.MetadataCsum)
        {
            int tail = HeaderSize + max * EntrySize;
            if (tail + 4 <= node.Length)
            {
                uint stored = BinaryPrimitives.ReadUInt32LittleEndian(node[tail..]);
                uint computed = ExtCrc32c.Update(vol.InodeChecksumSeed(inode), node[..tail]);
                if (stored != computed)
                    vol.Warnings.Add($"{where}: extent block checksum mismatch at offset {at + tail} (stored 0x{stored:X8}, computed 0x{computed:X8})");
            }
        }

        if (depth == 0)
        {
            for (int i = 0; i < entries; i++)
            {
                var e = node.Slice(HeaderSize + i * EntrySize, EntrySize);
                long eAt = at + HeaderSize + i * EntrySize;
                long logical = BinaryPrimitives.ReadUInt32LittleEndian(e[LeafLogicalOffset..]);
                int len = BinaryPrimitives.ReadUInt16LittleEndian(e[LeafLengthOffset..]);
                bool unwritten = len > InitMaxLength;
                if (unwritten) len -= InitMaxLength;
                long physical = (long)BinaryPrimitives.ReadUInt16LittleEndian(e[LeafStartHiOffset..]) << 32
                    | BinaryPrimitives.ReadUInt32LittleEndian(e[LeafStartLoOffset..]);
                if (len == 0)
                    throw new CorruptDataException(where, eAt + LeafLengthOffset, "extent of length 0");
                if (logical < builder.End || logical < firstLogical || logical + len > endLogical)
                    throw new CorruptDataException(where, eAt, $"extent at logical block {logical} (+{len}) out of order or outside its index range [{firstLogical}, {endLogical})");
                if (physical < vol.Sb.FirstDataBlock || (ulong)(physical + len) > vol.Sb.BlocksCount)
                    throw new CorruptDataException(where, eAt + LeafStartHiOffset, $"extent blocks {physical} (+{len}) outside the filesystem ({vol.Sb.BlocksCount} blocks)");
                if (builder.Count >= MaxRuns)
                    throw new UnsupportedFeatureException($"{where}", $"file with more than {MaxRuns} extents");
                builder.Add(logical, len, unwritten ? ExtDataMap.Unwritten : physical);
            }
            return depth;
        }

        long previous = -1;
        long[] starts = new long[entries];
        for (int i = 0; i < entries; i++)
        {
            long logical = BinaryPrimitives.ReadUInt32LittleEndian(node[(HeaderSize + i * EntrySize + IndexLogicalOffset)..]);
            long eAt = at + HeaderSize + i * EntrySize;
            if (logical <= previous || logical >= endLogical || (i > 0 && logical < firstLogical))
                throw new CorruptDataException(where, eAt, $"index entry for logical block {logical} out of order or outside [{firstLogical}, {endLogical})");
            starts[i] = logical;
            previous = logical;
        }
        for (int i = entries - 1; i >= 0; i--)
        {
            var e = node.Slice(HeaderSize + i * EntrySize, EntrySize);
            long eAt = at + HeaderSize + i * EntrySize;
            ulong child = BinaryPrimitives.ReadUInt32LittleEndian(e[IndexLeafLoOffset..])
                | (ulong)BinaryPrimitives.ReadUInt16LittleEndian(e[IndexLeafHiOffset..]) << 32;
            long childEnd = i + 1 < entries ? starts[i + 1] : endLogical;
            long childFirst = Math.Max(starts[i], firstLogical);
            stack.Push(new Pending(child, depth - 1, i == 0 ? firstLogical : childFirst, childEnd, eAt + IndexLeafLoOffset));
        }
        return depth;
    }
}
