using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// ext2/ext3 block maps (and ext4 files without the extents flag): i_block[0..11] direct blocks, [12] single,
/// [13] double and [14] triple indirect. A zero pointer at any level is a hole. Walked once, iteratively, only
/// over the logical range below the file size, into an <see cref="ExtDataMap"/>; each level of indirection is
/// one step shallower, so a block that points at itself cannot loop.
/// </summary>
internal static class ExtBlockMap
{
    private const int DirectBlocks = 12;
    private const int SingleIndirectSlot = 12;

    private readonly record struct Pending(ulong Block, int Level, long FirstLogical, long ReferencedAt);

    /// <param name="mapBlocks">When given, every indirect block read is added (the change locator explains their bytes by them).</param>
    public static ExtDataMap Build(ExtVolume vol, ExtInode inode, List<ulong>? mapBlocks = null)
    {
        string what = $"inode {inode.Number} block map";
        long bs = vol.BlockSize;
        long perBlock = bs / 4;
        long neededBlocks = (inode.Size + bs - 1) / bs;
        var builder = new ExtDataMap.Builder();
        long blockArea = inode.Offset + ExtInode.BlockOffset;

        for (int i = 0; i < DirectBlocks && i < neededBlocks; i++)
            AddData(vol, builder, i, BinaryPrimitives.ReadUInt32LittleEndian(inode.Block.AsSpan(i * 4)), blockArea + i * 4, what);

        // logical start of each indirect tree: 12, 12 + p, 12 + p + p^2
        var stack = new Stack<Pending>();
        long start = DirectBlocks, span = perBlock;
        var trees = new List<Pending>(3);
        for (int level = 1; level <= 3; level++)
        {
            if (start >= neededBlocks) break;
            ulong ptr = BinaryPrimitives.ReadUInt32LittleEndian(inode.Block.AsSpan((SingleIndirectSlot + level - 1) * 4));
            if (ptr != 0) trees.Add(new Pending(ptr, level, start, blockArea + (SingleIndirectSlot + level - 1) * 4));
            start += span;
            span *= perBlock;
        }
        for (int t = trees.Count - 1; t >= 0; t--) stack.Push(trees[t]);

        while (stack.Count > 0)
        {
            var p = stack.Pop();
            var block = vol.ReadBlock(p.Block, what, p.ReferencedAt);
            mapBlocks?.Add(p.Block);
            long at = vol.BlockOffset(p.Block);
            long childSpan = 1;
            for (int l = 1; l < p.Level; l++) childSpan *= perBlock;
            if (p.Level == 1)
            {
                for (int i = 0; i < perBlock; i++)
                {
                    long logical = p.FirstLogical + i;
                    if (logical >= neededBlocks) break;
                    AddData(vol, builder, logical, BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(i * 4)), at + i * 4, what);
                }
                continue;
            }
            for (long i = perBlock - 1; i >= 0; i--)
            {
                long first = p.FirstLogical + i * childSpan;
                if (first >= neededBlocks) continue;
                ulong ptr = BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan((int)i * 4));
                if (ptr != 0) stack.Push(new Pending(ptr, p.Level - 1, first, at + i * 4));
            }
        }
        return builder.Build();
    }

    private static void AddData(ExtVolume vol, ExtDataMap.Builder builder, long logical, ulong physical, long referencedAt, string what)
    {
        if (physical == 0) return;
        if (physical >= vol.Sb.BlocksCount)
            throw new CorruptDataException($"{vol.Name} {what}", referencedAt, $"data block {physical} outside the filesystem ({vol.Sb.BlocksCount} blocks)");
        if (builder.Count >= ExtExtentTree.MaxRuns)
            throw new UnsupportedFeatureException($"{vol.Name} {what}", $"file with more than {ExtExtentTree.MaxRuns} fragments");
        builder.Add(logical, 1, (long)physical);
    }
}
