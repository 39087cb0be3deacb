using System.Buffers.Binary;
using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// The metadata of an intact ext2/3/4 image, found by walking it the way the kernel does (superblock, group
/// descriptors, inode tables, extent trees or block maps, directory blocks), independently of our reader; and the
/// cross-link and loop cases made from them.
/// </summary>
public sealed class ExtStructures
{
    private const uint ExtentsFlag = 0x80000, InlineFlag = 0x10000000, IndexFlag = 0x1000;
    private const ushort ExtentMagic = 0xF30A;
    private const int MaxExtentNodes = 16, MaxDirectoryBlocks = 8;

    private readonly IReadAt _img;
    private readonly IntactTree _tree;
    private readonly int _blockSize, _inodeSize, _descSize;
    private readonly uint _inodesPerGroup, _firstDataBlock;
    private readonly bool _is64;

    public ExtStructures(IReadAt img, IntactTree tree)
    {
        _img = img;
        _tree = tree;
        var sb = Mutations.Read(img, 1024, 1024);
        _blockSize = 1024 << (int)BinaryPrimitives.ReadUInt32LittleEndian(sb.AsSpan(0x18));
        _inodesPerGroup = BinaryPrimitives.ReadUInt32LittleEndian(sb.AsSpan(0x28));
        _firstDataBlock = BinaryPrimitives.ReadUInt32LittleEndian(sb.AsSpan(0x14));
        _inodeSize = BinaryPrimitives.ReadUInt32LittleEndian(sb.AsSpan(0x4C)) >= 1 ? BinaryPrimitives.ReadUInt16LittleEndian(sb.AsSpan(0x58)) : 128;
        _is64 = (BinaryPrimitives.ReadUInt32LittleEndian(sb.AsSpan(0x60)) & 0x80) != 0;
        _descSize = _is64 ? BinaryPrimitives.ReadUInt16LittleEndian(sb.AsSpan(0xFE)) : 32;
        BlocksCount = BinaryPrimitives.ReadUInt32LittleEndian(sb.AsSpan(0x04));
        BlocksPerGroup = BinaryPrimitives.ReadUInt32LittleEndian(sb.AsSpan(0x20));
    }

    private uint BlocksCount { get; }
    private uint BlocksPerGroup { get; }

    private long GdtOffset => (_firstDataBlock + 1L) * _blockSize;

    public long InodeOffset(long ino)
    {
        long group = (ino - 1) / _inodesPerGroup;
        var gd = Mutations.Read(_img, GdtOffset + group * _descSize, _descSize);
        long table = BinaryPrimitives.ReadUInt32LittleEndian(gd.AsSpan(8));
        if (_is64 && _descSize >= 64) table |= (long)BinaryPrimitives.ReadUInt32LittleEndian(gd.AsSpan(0x28)) << 32;
        return table * _blockSize + (ino - 1) % _inodesPerGroup * _inodeSize;
    }

    private Touch TouchOf(long id) => Touch.OfPaths(_tree.PathsById[id]);

    public List<MetadataRegion> Regions()
    {
        var regions = new List<MetadataRegion> { new("superblock", 1024, 1024, Touch.All) };
        long groups = Math.Min((BlocksCount - _firstDataBlock + BlocksPerGroup - 1) / BlocksPerGroup, 4);
        for (int g = 0; g < groups; g++) regions.Add(new($"group descriptor {g}", GdtOffset + g * _descSize, _descSize, Touch.All));
        foreach (var id in _tree.PathsById.Select(g => g.Key))
        {
            long at = InodeOffset(id);
            regions.Add(new($"inode {id}", at, _inodeSize, TouchOf(id)));
            var inode = Mutations.Read(_img, at, _inodeSize);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(inode.AsSpan(0x20));
            bool dir = (BinaryPrimitives.ReadUInt16LittleEndian(inode) & 0xF000) == 0x4000;
            if ((flags & InlineFlag) != 0) continue;
            if ((flags & ExtentsFlag) != 0) ExtentTree(id, inode, dir, (flags & IndexFlag) != 0, regions);
            else if (dir || (BinaryPrimitives.ReadUInt16LittleEndian(inode) & 0xF000) == 0x8000) BlockMap(id, inode, dir, regions);
        }
        return regions;
    }

    /// <summary>Index and leaf nodes below the inode (breadth first, bounded), and a directory's first blocks.</summary>
    private void ExtentTree(long id, byte[] inode, bool dir, bool htree, List<MetadataRegion> regions)
    {
        var nodes = new Queue<byte[]>();
        nodes.Enqueue(inode.AsSpan(0x28, 60).ToArray());
        int seen = 0, dirBlocks = 0;
        while (nodes.Count > 0 && seen++ < MaxExtentNodes)
        {
            var node = nodes.Dequeue();
            if (BinaryPrimitives.ReadUInt16LittleEndian(node) != ExtentMagic) break;
            int entries = Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(node.AsSpan(2)), (node.Length - 12) / 12);
            int depth = BinaryPrimitives.ReadUInt16LittleEndian(node.AsSpan(6));
            for (int i = 0; i < entries; i++)
            {
                var e = node.AsSpan(12 + i * 12, 12);
                if (depth > 0)
                {
                    long leaf = BinaryPrimitives.ReadUInt32LittleEndian(e[4..]) | (long)BinaryPrimitives.ReadUInt16LittleEndian(e[8..]) << 32;
                    regions.Add(new($"extent node of inode {id} at block {leaf}", leaf * _blockSize, _blockSize, TouchOf(id)));
                    nodes.Enqueue(Mutations.Read(_img, leaf * _blockSize, _blockSize));
                }
                else if (dir)
                {
                    long start = BinaryPrimitives.ReadUInt32LittleEndian(e[8..]) | (long)BinaryPrimitives.ReadUInt16LittleEndian(e[6..]) << 32;
                    int len = BinaryPrimitives.ReadUInt16LittleEndian(e[4..]) & 0x7FFF;
                    for (int b = 0; b < len && dirBlocks < MaxDirectoryBlocks; b++, dirBlocks++)
                        regions.Add(new(dirBlocks == 0 && htree ? $"htree root of inode {id}" : $"directory block of inode {id}",
                            (start + b) * _blockSize, _blockSize, TouchOf(id)));
                }
            }
        }
    }

    /// <summary>Direct blocks of a directory and the single indirect block of a block-mapped file.</summary>
    private void BlockMap(long id, byte[] inode, bool dir, List<MetadataRegion> regions)
    {
        for (int slot = 0; slot < 12 && dir && slot < MaxDirectoryBlocks; slot++)
        {
            uint block = BinaryPrimitives.ReadUInt32LittleEndian(inode.AsSpan(0x28 + slot * 4));
            if (block != 0) regions.Add(new($"directory block of inode {id}", (long)block * _blockSize, _blockSize, TouchOf(id)));
        }
        uint indirect = BinaryPrimitives.ReadUInt32LittleEndian(inode.AsSpan(0x28 + 12 * 4));
        if (indirect != 0) regions.Add(new($"indirect block of inode {id}", (long)indirect * _blockSize, _blockSize, TouchOf(id)));
    }

    /// <summary>
    /// Two files on the same blocks (the second's map replaced by the first's), a directory holding its ancestor (an
    /// entry's inode made the root), and an extent tree pointing to itself (an index node whose child is itself).
    /// </summary>
    public IEnumerable<CorruptionCase> CrossLinksAndLoops(string image)
    {
        var files = _tree.Entries.Where(e => e.Type == Core.FileSystems.FsNodeType.File && e.Size > 4096).OrderBy(e => e.Path, StringComparer.Ordinal).ToList();
        if (files.Count >= 2)
        {
            var (a, b) = (files[0], files[1]);
            var map = Mutations.Read(_img, InodeOffset(a.Id) + 0x28, 60);
            yield return new CorruptionCase(image, $"inode {b.Id} map", $"cross-linked to {a.Path}", [new Patch(InodeOffset(b.Id) + 0x28, map)], null, TouchOf(b.Id));
        }
        foreach (var sub in _tree.Entries.Where(e => e.Type == Core.FileSystems.FsNodeType.Directory && e.Path != "/" && e.Path.Count(ch => ch == '/') == 1).Take(2))
        {
            // the first directory block of the subdirectory: `.` then `..`, then the first real entry, made the root
            var inode = Mutations.Read(_img, InodeOffset(sub.Id), _inodeSize);
            long block = FirstBlock(inode);
            if (block <= 0) continue;
            var data = Mutations.Read(_img, block * _blockSize, _blockSize);
            int dot = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(4));
            int dotdot = dot + BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(dot + 4));
            if (dotdot + 8 > _blockSize || BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(dotdot)) == 0) continue;
            yield return new CorruptionCase(image, $"directory block of inode {sub.Id}", "entry points at the root (a loop)",
                [new Patch(block * _blockSize + dotdot, Mutations.Le32(2)), new Patch(block * _blockSize + dotdot + 7, [2])], null, TouchOf(sub.Id));
            yield return new CorruptionCase(image, $"directory block of inode {sub.Id}", "entry points at its own directory (a loop)",
                [new Patch(block * _blockSize + dotdot, Mutations.Le32((uint)sub.Id)), new Patch(block * _blockSize + dotdot + 7, [2])], null, TouchOf(sub.Id));
        }
        foreach (var f in files)
        {
            long at = InodeOffset(f.Id);
            var inode = Mutations.Read(_img, at, _inodeSize);
            if ((BinaryPrimitives.ReadUInt32LittleEndian(inode.AsSpan(0x20)) & ExtentsFlag) == 0) continue;
            // the root made an index node whose only child is the block holding the inode itself, and then a node
            // whose child is itself: both must end in an error, not a walk around the loop
            long self = at / _blockSize;
            var root = new byte[24];
            inode.AsSpan(0x28, 12).CopyTo(root);
            BinaryPrimitives.WriteUInt16LittleEndian(root.AsSpan(2), 1);
            BinaryPrimitives.WriteUInt16LittleEndian(root.AsSpan(6), 1);
            BinaryPrimitives.WriteUInt32LittleEndian(root.AsSpan(16), (uint)self);
            BinaryPrimitives.WriteUInt16LittleEndian(root.AsSpan(20), 0);
            yield return new CorruptionCase(image, $"extent root of inode {f.Id}", "index points at the inode table", [new Patch(at + 0x28, root)], null, TouchOf(f.Id));
            int depth = BinaryPrimitives.ReadUInt16LittleEndian(inode.AsSpan(0x28 + 6));
            if (depth > 0)
            {
                long leaf = BinaryPrimitives.ReadUInt32LittleEndian(inode.AsSpan(0x28 + 16));
                var node = Mutations.Read(_img, leaf * _blockSize, 24);
                BinaryPrimitives.WriteUInt16LittleEndian(node.AsSpan(6), 1);
                BinaryPrimitives.WriteUInt32LittleEndian(node.AsSpan(16), (uint)leaf);
                BinaryPrimitives.WriteUInt16LittleEndian(node.AsSpan(20), 0);
                yield return new CorruptionCase(image, $"extent node of inode {f.Id} at block {leaf}", "extent tree points to itself", [new Patch(leaf * _blockSize, node)], null, TouchOf(f.Id));
                break;
            }
        }
    }

    private static long FirstBlock(byte[] inode)
    {
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(inode.AsSpan(0x20));
        if ((flags & InlineFlag) != 0) return 0;
        if ((flags & ExtentsFlag) == 0) return BinaryPrimitives.ReadUInt32LittleEndian(inode.AsSpan(0x28));
        if (BinaryPrimitives.ReadUInt16LittleEndian(inode.AsSpan(0x28 + 6)) != 0) return 0;
        return BinaryPrimitives.ReadUInt32LittleEndian(inode.AsSpan(0x28 + 20)) | (long)BinaryPrimitives.ReadUInt16LittleEndian(inode.AsSpan(0x28 + 18)) << 32;
    }
}
