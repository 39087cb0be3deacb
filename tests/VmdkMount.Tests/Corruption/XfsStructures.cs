using System.Buffers.Binary;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// The metadata of an intact XFS image, found by walking it (per AG: superblock, AGF, AGI, AGFL, the inode B+tree
/// root; every inode; data and attribute forks: extent lists, B+tree roots and blocks, directory blocks, attribute
/// blocks), independently of our reader (big-endian, as on disk); and the cross-link and loop cases.
/// </summary>
public sealed class XfsStructures
{
    private const byte Local = 1, Extents = 2, Btree = 3;
    private const int MaxAgs = 2, MaxBlocksPerFork = 6, BmbtRecord = 16;

    private readonly IReadAt _img;
    private readonly IntactTree _tree;
    private readonly int _blockSize, _sectorSize, _inodeSize, _inodesPerBlockLog, _agBlocksLog, _coreSize, _dirBlockSize;
    private readonly long _agBlocks, _agCount;
    private readonly bool _v5;

    public XfsStructures(IReadAt img, IntactTree tree)
    {
        _img = img;
        _tree = tree;
        var sb = Mutations.Read(img, 0, 512);
        _blockSize = (int)BinaryPrimitives.ReadUInt32BigEndian(sb.AsSpan(4));
        _agBlocks = BinaryPrimitives.ReadUInt32BigEndian(sb.AsSpan(0x54));
        _agCount = BinaryPrimitives.ReadUInt32BigEndian(sb.AsSpan(0x58));
        _v5 = (BinaryPrimitives.ReadUInt16BigEndian(sb.AsSpan(0x64)) & 0xF) == 5;
        _sectorSize = BinaryPrimitives.ReadUInt16BigEndian(sb.AsSpan(0x66));
        _inodeSize = BinaryPrimitives.ReadUInt16BigEndian(sb.AsSpan(0x68));
        _inodesPerBlockLog = sb[0x7B];
        _agBlocksLog = sb[0x7C];
        _dirBlockSize = _blockSize << sb[0xC0];
        _coreSize = _v5 ? 176 : 100;
    }

    public bool IsV5 => _v5;

    public long InodeOffset(long ino)
    {
        long ag = ino >> (_agBlocksLog + _inodesPerBlockLog);
        long agIno = ino & ((1L << (_agBlocksLog + _inodesPerBlockLog)) - 1);
        return (ag * _agBlocks + (agIno >> _inodesPerBlockLog)) * _blockSize + (agIno & ((1 << _inodesPerBlockLog) - 1)) * _inodeSize;
    }

    /// <summary>Byte offset of a filesystem block number (AG number in the high bits, block in AG below).</summary>
    public long BlockOffset(long fsb) => ((fsb >> _agBlocksLog) * _agBlocks + (fsb & ((1L << _agBlocksLog) - 1))) * _blockSize;

    private Touch TouchOf(long id) => Touch.OfPaths(_tree.PathsById[id]);

    public List<MetadataRegion> Regions()
    {
        var regions = new List<MetadataRegion>();
        for (long ag = 0; ag < Math.Min(_agCount, MaxAgs); ag++)
        {
            long at = ag * _agBlocks * _blockSize;
            // AG 0's superblock is the one read; the others are backups nobody reads
            regions.Add(new($"superblock of AG {ag}", at, _sectorSize, ag == 0 ? Touch.All : Touch.Nothing));
            regions.Add(new($"AGF of AG {ag}", at + _sectorSize, _sectorSize, Touch.All));
            regions.Add(new($"AGI of AG {ag}", at + 2 * _sectorSize, _sectorSize, Touch.All));
            regions.Add(new($"AGFL of AG {ag}", at + 3 * _sectorSize, _sectorSize, Touch.All));
            long inobtRoot = BinaryPrimitives.ReadUInt32BigEndian(Mutations.Read(_img, at + 2 * _sectorSize + 0x14, 4));
            regions.Add(new($"inode B+tree root of AG {ag}", at + inobtRoot * _blockSize, _blockSize, Touch.All));
        }
        foreach (var id in _tree.PathsById.Select(g => g.Key))
        {
            long at = InodeOffset(id);
            var inode = Mutations.Read(_img, at, _inodeSize);
            var touch = TouchOf(id);
            bool dir = (BinaryPrimitives.ReadUInt16BigEndian(inode.AsSpan(2)) & 0xF000) == 0x4000;
            regions.Add(new($"inode {id} core", at, _coreSize, touch));
            int forkOff = inode[0x52] * 8;
            int dataEnd = forkOff == 0 ? _inodeSize : _coreSize + forkOff;
            regions.Add(new($"inode {id} data fork", at + _coreSize, dataEnd - _coreSize, touch));
            Fork(id, inode, inode[5], _coreSize, dataEnd - _coreSize, (int)BinaryPrimitives.ReadUInt32BigEndian(inode.AsSpan(0x4C)), dir ? "directory block" : "data", touch, regions);
            if (forkOff != 0)
            {
                regions.Add(new($"inode {id} attribute fork", at + dataEnd, _inodeSize - dataEnd, touch));
                Fork(id, inode, inode[0x53], dataEnd, _inodeSize - dataEnd, BinaryPrimitives.ReadUInt16BigEndian(inode.AsSpan(0x50)), "attribute block", touch, regions);
            }
        }
        return regions;
    }

    /// <summary>Blocks a fork maps: its extents (bounded), or its B+tree root's children; metadata blocks only.</summary>
    private void Fork(long id, byte[] inode, byte format, int offset, int size, int records, string what, Touch touch, List<MetadataRegion> regions)
    {
        if (format == Extents)
        {
            if (what == "data") return;
            for (int i = 0; i < Math.Min(records, MaxBlocksPerFork) && offset + (i + 1) * BmbtRecord <= inode.Length; i++)
            {
                var (_, start, _) = Record(inode.AsSpan(offset + i * BmbtRecord));
                regions.Add(new($"{what} of inode {id}", BlockOffset(start), what == "directory block" ? _dirBlockSize : _blockSize, touch));
            }
        }
        else if (format == Btree)
        {
            int numRecs = BinaryPrimitives.ReadUInt16BigEndian(inode.AsSpan(offset + 2));
            int maxRecs = (size - 4) / 16;
            for (int i = 0; i < Math.Min(numRecs, MaxBlocksPerFork); i++)
            {
                long child = (long)BinaryPrimitives.ReadUInt64BigEndian(inode.AsSpan(offset + 4 + maxRecs * 8 + i * 8));
                regions.Add(new($"B+tree block of inode {id}", BlockOffset(child), _blockSize, touch));
            }
        }
    }

    /// <summary>An extent record: 1 flag bit, 54 bits of file offset, 52 of start block, 21 of length.</summary>
    private static (long Offset, long Start, long Count) Record(ReadOnlySpan<byte> r)
    {
        ulong hi = BinaryPrimitives.ReadUInt64BigEndian(r), lo = BinaryPrimitives.ReadUInt64BigEndian(r[8..]);
        return ((long)((hi >> 9) & ((1UL << 54) - 1)), (long)(((hi & 0x1FF) << 43) | (lo >> 21)), (long)(lo & 0x1FFFFF));
    }

    /// <summary>
    /// Two files on the same blocks (the second's extent list made the first's), and a short-form directory whose
    /// first entry is the root or the directory itself (a directory that contains its ancestor).
    /// </summary>
    public IEnumerable<CorruptionCase> CrossLinksAndLoops(string image)
    {
        var files = _tree.Entries.Where(e => e.Type == FsNodeType.File && e.Size > _blockSize)
            .Where(e => Mutations.Read(_img, InodeOffset(e.Id), 6)[5] == Extents).OrderBy(e => e.Path, StringComparer.Ordinal).ToList();
        if (files.Count >= 2)
        {
            var (a, b) = (files[0], files[1]);
            var list = Mutations.Read(_img, InodeOffset(a.Id) + _coreSize, BmbtRecord);
            yield return new CorruptionCase(image, $"inode {b.Id} data fork", $"cross-linked to {a.Path}", [new Patch(InodeOffset(b.Id) + _coreSize, list)], null, TouchOf(b.Id));
        }
        var sb = Mutations.Read(_img, 0, 512);
        long root = (long)BinaryPrimitives.ReadUInt64BigEndian(sb.AsSpan(0x38));
        bool ftype = _v5 || (BinaryPrimitives.ReadUInt32BigEndian(sb.AsSpan(0xC8)) & 0x200) != 0;
        int found = 0;
        foreach (var d in _tree.Entries.Where(e => e.Type == FsNodeType.Directory && e.Path != "/").OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            long at = InodeOffset(d.Id);
            var inode = Mutations.Read(_img, at, _inodeSize);
            if (inode[5] != Local || inode[_coreSize] == 0) continue;
            int inoSize = inode[_coreSize + 1] != 0 ? 8 : 4;
            int entry = _coreSize + 2 + inoSize;
            int nameLength = inode[entry];
            int inoAt = entry + 3 + nameLength + (ftype ? 1 : 0);
            byte[] Ino(long v) => inoSize == 8 ? Mutations.Be64((ulong)v) : Mutations.Be32((uint)v);
            yield return new CorruptionCase(image, $"inode {d.Id} data fork", "entry points at the root (a loop)", [new Patch(at + inoAt, Ino(root))], null, TouchOf(d.Id));
            yield return new CorruptionCase(image, $"inode {d.Id} data fork", "entry points at its own directory (a loop)", [new Patch(at + inoAt, Ino(d.Id))], null, TouchOf(d.Id));
            if (++found == 2) break;
        }
    }
}
