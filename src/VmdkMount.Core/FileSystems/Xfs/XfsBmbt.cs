using System.Buffers;
using System.Buffers.Binary;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems.Ext;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>
/// The extent B+tree (BMBT, xfs.md §4.3): a root inside the inode's fork, child blocks of one fs block each, extent
/// records in the leaves. Walked depth first with an explicit stack (leftmost child on top, so leaves come in key
/// order). Every block is checked before use: magic, level exactly one below its parent, 1 &lt;= numrecs &lt;= maxrecs,
/// on v5 the CRC and the block's own address/owner/UUID; a block seen twice (a cycle) and more blocks than the
/// inode owns are corruption. The total of leaf records must equal the inode's extent count.
/// </summary>
internal static class XfsBmbt
{
    private const uint MagicV4 = 0x424D4150; // "BMAP"
    private const uint MagicV5 = 0x424D4133; // "BMA3"
    private const int RootHeaderSize = 4;
    private const int HeaderV4 = 24, HeaderV5 = 72;
    private const int LevelOffset = 4, NumrecsOffset = 6;
    private const int BlknoOffset = 24, UuidOffset = 40, OwnerOffset = 56, CrcOffset = 64;
    private const int KeySize = 8, PtrSize = 8;
    /// <summary>Far above any real tree (the kernel's maximum for 2^48 extents in 512-byte blocks is below 20).</summary>
    private const int MaxLevel = 20;

    private readonly record struct Pending(ulong Fsb, int Level, long ReferencedAt);

    public static void Walk(XfsVolume vol, XfsInode inode, ExtDataMap.Builder builder, ref long end) =>
        Walk(vol, inode, inode.DataFork, inode.DataForkByteOffset, inode.DataExtents, "extent btree", builder, ref end);

    /// <summary>The tree rooted in <paramref name="fork"/> (the data or the attribute fork), holding <paramref name="extents"/> records.</summary>
    /// <param name="owned">Not null: also receives the tree's own blocks and every extent's blocks (linear, count).</param>
    public static void Walk(XfsVolume vol, XfsInode inode, byte[] fork, long forkAt, ulong extents, string name, ExtDataMap.Builder builder, ref long end,
        List<(long Linear, long Count)>? owned = null)
    {
        string what = $"inode {inode.Number} {name}";
        string where = $"{vol.Name} {what}";
        int rootLevel = BinaryPrimitives.ReadUInt16BigEndian(fork);
        int rootRecs = BinaryPrimitives.ReadUInt16BigEndian(fork.AsSpan(2));
        int rootMax = (fork.Length - RootHeaderSize) / (KeySize + PtrSize);
        if (rootLevel < 1 || rootLevel > MaxLevel)
            throw new CorruptDataException(where, forkAt, $"root level {rootLevel} (1 .. {MaxLevel})");
        if (rootRecs < 1 || rootRecs > rootMax)
            throw new CorruptDataException(where, forkAt + 2, $"root holds {rootRecs} pointers, room for {rootMax}");

        var stack = new Stack<Pending>();
        for (int i = rootRecs - 1; i >= 0; i--)
        {
            int ptrAt = RootHeaderSize + rootMax * KeySize + i * PtrSize;
            stack.Push(new Pending(BinaryPrimitives.ReadUInt64BigEndian(fork.AsSpan(ptrAt)), rootLevel - 1, forkAt + ptrAt));
        }

        bool v5 = vol.Sb.HasCrc;
        int header = v5 ? HeaderV5 : HeaderV4;
        int bs = vol.BlockSize;
        int maxRecs = (bs - header) / (KeySize + PtrSize);
        int leafMax = (bs - header) / XfsExtentList.RecordSize;
        // The tree's blocks are counted in the inode's nblocks: more visits than that means a loop.
        ulong maxBlocks = Math.Min(inode.Blocks + 1, 1UL << 24);
        var seen = new HashSet<ulong>();
        ulong records = 0;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(bs);
        try
        {
            while (stack.Count > 0)
            {
                var p = stack.Pop();
                if (!seen.Add(p.Fsb))
                    throw new CorruptDataException(where, p.ReferencedAt, $"block {p.Fsb} is reached a second time (a cycle in the tree)");
                if ((ulong)seen.Count > maxBlocks)
                    throw new CorruptDataException(where, p.ReferencedAt, $"more tree blocks than the inode's {inode.Blocks} blocks");
                long at = vol.FsbToByte(p.Fsb, 1, what, p.ReferencedAt);
                var block = buffer.AsSpan(0, bs);
                vol.ReadExactly(at, block, what);
                owned?.Add((at >> vol.Sb.BlockLog, 1));
                uint magic = BinaryPrimitives.ReadUInt32BigEndian(block);
                if (magic != (v5 ? MagicV5 : MagicV4))
                    throw new CorruptDataException(where, at, $"bad btree block magic 0x{magic:X8} (expected 0x{(v5 ? MagicV5 : MagicV4):X8})");
                if (v5)
                {
                    vol.CheckCrc(block, CrcOffset, at, what + $" block {p.Fsb}");
                    vol.CheckSelf(block, at, BlknoOffset, UuidOffset, OwnerOffset, inode.Number, what + $" block {p.Fsb}");
                }
                int level = BinaryPrimitives.ReadUInt16BigEndian(block[LevelOffset..]);
                int numrecs = BinaryPrimitives.ReadUInt16BigEndian(block[NumrecsOffset..]);
                if (level != p.Level)
                    throw new CorruptDataException(where, at + LevelOffset, $"block {p.Fsb} has level {level}, expected {p.Level} (a loop or a misdirected pointer)");
                if (numrecs < 1 || numrecs > (level == 0 ? leafMax : maxRecs))
                    throw new CorruptDataException(where, at + NumrecsOffset, $"block {p.Fsb} holds {numrecs} records, room for {(level == 0 ? leafMax : maxRecs)}");
                if (level == 0)
                {
                    records += (ulong)numrecs;
                    XfsExtentList.AddRecords(vol, inode, block[header..], numrecs, at + header, builder, ref end, owned);
                    continue;
                }
                for (int i = numrecs - 1; i >= 0; i--)
                {
                    int ptrAt = header + maxRecs * KeySize + i * PtrSize;
                    stack.Push(new Pending(BinaryPrimitives.ReadUInt64BigEndian(block[ptrAt..]), level - 1, at + ptrAt));
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (records != extents)
            throw new CorruptDataException(where, forkAt, $"the tree holds {records} extents, the inode says {extents}");
    }
}
