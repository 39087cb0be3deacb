using System.Buffers.Binary;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems.Ext;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>
/// A data fork's extents (xfs.md §4.2) flattened into the same sorted run map the ext reader uses: logical fs
/// blocks to linear volume blocks (AG-packed numbers already converted), unwritten extents as zero runs, gaps as
/// holes. The fork is either the extent records themselves (format extents) or a BMBT whose leaves hold them
/// (<see cref="XfsBmbt"/>). Records must be sorted, non-overlapping and inside one AG each.
/// </summary>
internal static class XfsExtentList
{
    public const int RecordSize = 16;
    /// <summary>Largest file offset in blocks an extent may reach (54-bit startoff).</summary>
    private const long MaxFileBlocks = 1L << 54;
    public const int MaxRuns = 4 << 20;

    public static ExtDataMap Build(XfsVolume vol, XfsInode inode)
    {
        var builder = new ExtDataMap.Builder();
        long end = 0;
        switch (inode.Format)
        {
            case XfsInode.FormatExtents:
                AddRecords(vol, inode, inode.DataFork, (int)inode.DataExtents, inode.DataForkByteOffset, builder, ref end);
                break;
            case XfsInode.FormatBtree:
                XfsBmbt.Walk(vol, inode, builder, ref end);
                break;
            default:
                throw new CorruptDataException($"{vol.Name} inode {inode.Number}", inode.Offset, $"data fork format {inode.Format} has no extents");
        }
        return builder.Build();
    }

    /// <summary>Decodes <paramref name="count"/> packed records at the start of <paramref name="records"/>.</summary>
    /// <param name="owned">Not null: also receives every extent's volume blocks (linear, count), unwritten ones included.</param>
    public static void AddRecords(XfsVolume vol, XfsInode inode, ReadOnlySpan<byte> records, int count, long at, ExtDataMap.Builder builder, ref long end,
        List<(long Linear, long Count)>? owned = null)
    {
        string what = $"inode {inode.Number} extent list";
        for (int i = 0; i < count; i++)
        {
            long recAt = at + i * RecordSize;
            ulong l0 = BinaryPrimitives.ReadUInt64BigEndian(records[(i * RecordSize)..]);
            ulong l1 = BinaryPrimitives.ReadUInt64BigEndian(records[(i * RecordSize + 8)..]);
            bool unwritten = (l0 >> 63) != 0;
            long startoff = (long)((l0 >> 9) & ((1UL << 54) - 1));
            ulong startblock = ((l0 & 0x1FF) << 43) | (l1 >> 21);
            long count21 = (long)(l1 & 0x1FFFFF);
            if (count21 == 0)
                throw new CorruptDataException($"{vol.Name} {what}", recAt, "extent of 0 blocks");
            if (startoff < end || startoff + count21 > MaxFileBlocks)
                throw new CorruptDataException($"{vol.Name} {what}", recAt, $"extent at file block {startoff} (+{count21}) overlaps the one before or is out of order");
            long linear = vol.FsbToLinear(startblock, (ulong)count21, what, recAt);
            if (builder.Count >= MaxRuns)
                throw new UnsupportedFeatureException($"{vol.Name} {what}", $"file with more than {MaxRuns} extents");
            builder.Add(startoff, count21, unwritten ? ExtDataMap.Unwritten : linear);
            owned?.Add((linear, count21));
            end = startoff + count21;
        }
    }
}
