using System.Buffers.Binary;
using System.Text;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems.Ext;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>
/// An inode's extended attributes from its attribute fork (../shared/docs/xfs.md section 7): short form in the inode,
/// or attr-fork block 0 as a leaf or a DA node whose leftmost path leads to the first leaf, then the leaves' forw
/// chain. Values are local or remote (v5 remote blocks carry an XARM header). Parent pointers and entries still being
/// created are not attributes a user set, and are left out. Every walk is bounded by the fork's block count.
/// </summary>
internal static class XfsAttributeFork
{
    private const byte FlagLocal = 0x01, FlagRoot = 0x02, FlagSecure = 0x04, FlagParent = 0x08, FlagIncomplete = 0x80;
    private const ushort LeafMagicV4 = 0xFBEE, LeafMagicV5 = 0x3BEE, NodeMagicV4 = 0xFEBE, NodeMagicV5 = 0x3EBE;
    private const int RemoteHeaderV5 = 56;
    private const int MaxValueBytes = 64 * 1024;
    private const int MaxNodeDepth = 8;

    public static List<FsExtendedAttribute> Read(XfsVolume vol, XfsInode inode)
    {
        var result = new List<FsExtendedAttribute>();
        if (inode.AttrFork.Length == 0) return result;
        string where = $"{vol.Name} inode {inode.Number} attribute fork";
        switch (inode.AttrFormat)
        {
            case XfsInode.FormatLocal:
                ReadShortForm(inode.AttrFork, where, inode.Offset + inode.AttrForkOffset, result);
                break;
            case XfsInode.FormatExtents:
                if (inode.AttrExtents == 0) break;
                if (inode.AttrExtents > (ulong)(inode.AttrFork.Length / XfsExtentList.RecordSize))
                    throw new CorruptDataException(where, inode.Offset + inode.AttrForkOffset, $"{inode.AttrExtents} extents do not fit the {inode.AttrFork.Length}-byte fork");
                var builder = new ExtDataMap.Builder();
                long end = 0;
                XfsExtentList.AddRecords(vol, inode, inode.AttrFork, (int)inode.AttrExtents, inode.Offset + inode.AttrForkOffset, builder, ref end);
                ReadBlocks(vol, builder.Build(), end, where, result);
                break;
            case XfsInode.FormatBtree:
            {
                var tree = new ExtDataMap.Builder();
                long treeEnd = 0;
                XfsBmbt.Walk(vol, inode, inode.AttrFork, inode.Offset + inode.AttrForkOffset, inode.AttrExtents, "attribute extent btree", tree, ref treeEnd);
                ReadBlocks(vol, tree.Build(), treeEnd, where, result);
                break;
            }
            default:
                throw new CorruptDataException(where, inode.Offset, $"attribute fork format {inode.AttrFormat}");
        }
        return result;
    }

    private static void ReadShortForm(ReadOnlySpan<byte> fork, string where, long at, List<FsExtendedAttribute> result)
    {
        if (fork.Length < 4) throw new CorruptDataException(where, at, "short-form attribute header cut short");
        int total = BinaryPrimitives.ReadUInt16BigEndian(fork);
        int count = fork[2];
        if (total < 4 || total > fork.Length) throw new CorruptDataException(where, at, $"short-form size {total} outside the {fork.Length}-byte fork");
        int pos = 4;
        for (int i = 0; i < count; i++)
        {
            if (pos + 3 > total) throw new CorruptDataException(where, at + pos, $"short-form entry {i} runs past the {total} bytes");
            int nameLen = fork[pos], valueLen = fork[pos + 1];
            byte flags = fork[pos + 2];
            int next = pos + 3 + nameLen + valueLen;
            if (nameLen == 0 || next > total) throw new CorruptDataException(where, at + pos, $"short-form entry {i} runs past the {total} bytes");
            Add(result, flags, fork.Slice(pos + 3, nameLen), fork.Slice(pos + 3 + nameLen, valueLen).ToArray());
            pos = next;
        }
    }

    private static void ReadBlocks(XfsVolume vol, ExtDataMap map, long forkBlocks, string where, List<FsExtendedAttribute> result)
    {
        int bs = vol.BlockSize;
        bool v5 = vol.Sb.HasCrc;
        var block = new byte[bs];
        long Read(long logical)
        {
            long? physical = map.Map(logical, out _);
            if (physical is not { } p || p < 0) throw new CorruptDataException(where, 0, $"attribute block {logical} is not mapped");
            long byteAt = p << vol.Sb.BlockLog;
            vol.ReadExactly(byteAt, block, $"{where} block {logical}");
            return byteAt;
        }

        // Down the leftmost path of a DA node tree to the first leaf.
        long current = 0;
        long at = Read(current);
        for (int depth = 0; ; depth++)
        {
            ushort magic = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(8));
            if (magic == (v5 ? LeafMagicV5 : LeafMagicV4)) break;
            if (magic != (v5 ? NodeMagicV5 : NodeMagicV4) || depth >= MaxNodeDepth)
                throw new CorruptDataException(where, at + 8, $"attribute block {current}: magic 0x{magic:X4} is neither a leaf nor a node (or the tree is deeper than {MaxNodeDepth})");
            int countAt = v5 ? 56 : 12, entriesAt = v5 ? 64 : 16;
            int count = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(countAt));
            if (count == 0 || entriesAt + 8 > bs) throw new CorruptDataException(where, at + countAt, "attribute node without entries");
            current = BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(entriesAt + 4));
            if (current >= forkBlocks) throw new CorruptDataException(where, at + entriesAt + 4, $"attribute node points at block {current}, past the fork's {forkBlocks}");
            at = Read(current);
        }

        var seen = new HashSet<long>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            if (!seen.Add(current) || seen.Count > forkBlocks)
                throw new CorruptDataException(where, at, $"attribute leaf chain returns to block {current}");
            ReadLeaf(vol, block, at, where, v5, map, forkBlocks, result, names);
            long forw = BinaryPrimitives.ReadUInt32BigEndian(block);
            if (forw == 0) break;
            if (forw >= forkBlocks) throw new CorruptDataException(where, at, $"attribute leaf links to block {forw}, past the fork's {forkBlocks}");
            current = forw;
            at = Read(current);
            ushort magic = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(8));
            if (magic != (v5 ? LeafMagicV5 : LeafMagicV4))
                throw new CorruptDataException(where, at + 8, $"attribute block {current} in the leaf chain has magic 0x{magic:X4}");
        }
    }

    private static void ReadLeaf(XfsVolume vol, byte[] block, long at, string where, bool v5, ExtDataMap map, long forkBlocks,
        List<FsExtendedAttribute> result, HashSet<string> names)
    {
        int bs = block.Length;
        if (v5) vol.CheckCrc(block, 12, at, $"{where} leaf");
        int count = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(v5 ? 56 : 12));
        int entriesAt = v5 ? 80 : 32;
        if (entriesAt + count * 8 > bs) throw new CorruptDataException(where, at, $"{count} leaf entries do not fit the block");
        for (int i = 0; i < count; i++)
        {
            int e = entriesAt + i * 8;
            int nameIdx = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(e + 4));
            byte flags = block[e + 6];
            if ((flags & (FlagIncomplete | FlagParent)) != 0) continue;
            if ((flags & FlagLocal) != 0)
            {
                if (nameIdx + 3 > bs) throw new CorruptDataException(where, at + e, $"leaf entry {i} name offset {nameIdx} past the block");
                int valueLen = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(nameIdx));
                int nameLen = block[nameIdx + 2];
                if (nameLen == 0 || nameIdx + 3 + nameLen + valueLen > bs) throw new CorruptDataException(where, at + nameIdx, $"leaf entry {i} runs past the block");
                var name = block.AsSpan(nameIdx + 3, nameLen);
                if (names.Add(Full(flags, name))) Add(result, flags, name, block.AsSpan(nameIdx + 3 + nameLen, valueLen).ToArray());
            }
            else
            {
                if (nameIdx + 9 > bs) throw new CorruptDataException(where, at + e, $"leaf entry {i} name offset {nameIdx} past the block");
                long valueBlock = BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(nameIdx));
                long valueLen = BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(nameIdx + 4));
                int nameLen = block[nameIdx + 8];
                if (nameLen == 0 || nameIdx + 9 + nameLen > bs) throw new CorruptDataException(where, at + nameIdx, $"leaf entry {i} runs past the block");
                if (valueLen > MaxValueBytes) throw new CorruptDataException(where, at + nameIdx + 4, $"remote value of {valueLen} bytes (at most {MaxValueBytes})");
                var name = block.AsSpan(nameIdx + 9, nameLen);
                if (names.Add(Full(flags, name)))
                    Add(result, flags, name, RemoteValue(vol, map, forkBlocks, valueBlock, (int)valueLen, where, v5));
            }
        }
    }

    private static byte[] RemoteValue(XfsVolume vol, ExtDataMap map, long forkBlocks, long first, int length, string where, bool v5)
    {
        int bs = vol.BlockSize;
        int per = v5 ? bs - RemoteHeaderV5 : bs;
        var value = new byte[length];
        var block = new byte[bs];
        int done = 0;
        for (long logical = first; done < length; logical++)
        {
            if (logical >= forkBlocks) throw new CorruptDataException(where, 0, $"remote value runs past the fork's {forkBlocks} blocks");
            long? physical = map.Map(logical, out _);
            if (physical is not { } p || p < 0) throw new CorruptDataException(where, 0, $"remote value block {logical} is not mapped");
            long byteAt = p << vol.Sb.BlockLog;
            vol.ReadExactly(byteAt, block, $"{where} remote value block {logical}");
            int take = Math.Min(per, length - done);
            if (v5)
            {
                if (BinaryPrimitives.ReadUInt32BigEndian(block) != 0x5841524D)
                    throw new CorruptDataException(where, byteAt, "remote value block without its XARM header");
                vol.CheckCrc(block, 12, byteAt, $"{where} remote value");
                int bytes = (int)BinaryPrimitives.ReadUInt32BigEndian(block.AsSpan(8));
                if (bytes < take) throw new CorruptDataException(where, byteAt + 8, $"remote value block holds {bytes} bytes, {take} expected");
            }
            block.AsSpan(v5 ? RemoteHeaderV5 : 0, take).CopyTo(value.AsSpan(done));
            done += take;
        }
        return value;
    }

    private static string Prefix(byte flags) => (flags & FlagRoot) != 0 ? "trusted." : (flags & FlagSecure) != 0 ? "security." : "user.";

    private static string Full(byte flags, ReadOnlySpan<byte> name) => Prefix(flags) + Encoding.UTF8.GetString(name);

    private static void Add(List<FsExtendedAttribute> result, byte flags, ReadOnlySpan<byte> name, byte[] value)
    {
        if ((flags & (FlagIncomplete | FlagParent)) != 0) return;
        result.Add(new FsExtendedAttribute(Full(flags, name), value));
    }
}
