using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>
/// The per-AG B+trees with short (AG-relative, 32-bit) pointers (xfs.md §2): free space by block and by size, inodes,
/// free inodes, reverse map, reference counts. Walked depth first with an explicit stack; every block is checked
/// (magic, level one below its parent, 1 &lt;= numrecs &lt;= maxrecs, on v5 CRC, own sector, UUID and AG) and a block
/// seen twice or more blocks than the AG holds is corruption. Only the restore-point locator reads them.
/// </summary>
internal static class XfsAgBtree
{
    /// <summary>Magic v4 / v5 (0: no v4 form), leaf record size, node key size (the reverse map keeps a low and a high key).</summary>
    public readonly record struct Shape(string Name, uint MagicV4, uint MagicV5, int RecordSize, int KeySize);

    public static readonly Shape FreeByBlock = new("free-space btree", 0x41425442, 0x41423342, 8, 8);   // ABTB / AB3B
    public static readonly Shape FreeBySize = new("free-space size btree", 0x41425443, 0x41423343, 8, 8); // ABTC / AB3C
    public static readonly Shape Inodes = new("inode btree", 0x49414254, 0x49414233, 16, 4);             // IABT / IAB3
    public static readonly Shape FreeInodes = new("free-inode btree", 0x46494254, 0x46494233, 16, 4);    // FIBT / FIB3
    public static readonly Shape ReverseMap = new("reverse-map btree", 0, 0x524D4233, 24, 40);           // RMB3
    public static readonly Shape RefCounts = new("refcount btree", 0, 0x52334643, 12, 4);                // R3FC

    private const int HeaderV4 = 16, HeaderV5 = 56;
    private const int LevelOffset = 4, NumrecsOffset = 6, BlknoOffset = 16, UuidOffset = 32, OwnerOffset = 48, CrcOffset = 52;
    private const int PtrSize = 4;
    private const int MaxLevel = 20;

    public delegate void LeafRecords(ReadOnlySpan<byte> records, int count);

    /// <summary>
    /// Adds the byte offset of every block of the tree rooted at <paramref name="root"/> (AG block) in AG
    /// <paramref name="agno"/> to <paramref name="blocks"/>, and hands each leaf's records to <paramref name="leaf"/>.
    /// </summary>
    public static void Walk(XfsVolume vol, uint agno, uint root, uint levels, Shape shape, List<long> blocks, LeafRecords? leaf)
    {
        var sb = vol.Sb;
        string what = $"AG {agno} {shape.Name}";
        string where = $"{vol.Name} {what}";
        if (levels < 1 || levels > MaxLevel) throw new CorruptDataException(where, 0, $"{levels} levels (1 .. {MaxLevel})");
        bool v5 = sb.HasCrc;
        uint magic = v5 ? shape.MagicV5 : shape.MagicV4;
        int header = v5 ? HeaderV5 : HeaderV4;
        int bs = vol.BlockSize;
        int leafMax = (bs - header) / shape.RecordSize;
        int nodeMax = (bs - header) / (shape.KeySize + PtrSize);
        uint agLength = sb.AgLength(agno);
        var seen = new HashSet<uint>();
        var stack = new Stack<(uint Agbno, int Level)>();
        stack.Push((root, (int)levels - 1));
        var block = new byte[bs];
        while (stack.Count > 0)
        {
            var (agbno, expected) = stack.Pop();
            if (agbno == 0 || agbno >= agLength) throw new CorruptDataException(where, 0, $"block {agbno} lies outside the AG's {agLength} blocks");
            if (!seen.Add(agbno)) throw new CorruptDataException(where, 0, $"block {agbno} is reached a second time (a cycle in the tree)");
            long at = ((long)agno * sb.AgBlocks + agbno) * bs;
            vol.ReadExactly(at, block, what);
            blocks.Add(at);
            uint m = BinaryPrimitives.ReadUInt32BigEndian(block);
            if (m != magic) throw new CorruptDataException(where, at, $"bad btree block magic 0x{m:X8} (expected 0x{magic:X8})");
            if (v5)
            {
                vol.CheckCrc(block, CrcOffset, at, what);
                vol.CheckSelf(block, at, BlknoOffset, UuidOffset, -1, 0, what);
                uint owner = BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(OwnerOffset));
                if (owner != agno) throw new CorruptDataException(where, at + OwnerOffset, $"block belongs to AG {owner}");
            }
            int level = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(LevelOffset));
            int numrecs = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(NumrecsOffset));
            if (level != expected) throw new CorruptDataException(where, at + LevelOffset, $"block {agbno} has level {level}, expected {expected}");
            // An empty root leaf is a tree with no records (an AG with no free space, no inodes).
            if (numrecs > (level == 0 ? leafMax : nodeMax) || (numrecs == 0 && (level != 0 || agbno != root)))
                throw new CorruptDataException(where, at + NumrecsOffset, $"block {agbno} holds {numrecs} records, room for {(level == 0 ? leafMax : nodeMax)}");
            if (level == 0)
            {
                leaf?.Invoke(block.AsSpan(header, numrecs * shape.RecordSize), numrecs);
                continue;
            }
            for (int i = numrecs - 1; i >= 0; i--)
                stack.Push((BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(header + nodeMax * shape.KeySize + i * PtrSize)), level - 1));
        }
    }
}
