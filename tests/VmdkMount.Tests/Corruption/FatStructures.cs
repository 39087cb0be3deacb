using System.Buffers.Binary;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// The metadata of an intact FAT12/16/32 image, found by walking it (boot sector, FSInfo, both FATs, the root
/// directory, every directory's clusters and entries, each file's chain), independently of our reader: the reader's
/// node id is the volume offset of the node's directory entry, so the entry is read from there. Also the cross-link,
/// FAT-cycle and directory-loop cases.
/// </summary>
public sealed class FatStructures
{
    private const int EntrySize = 32, MaxChain = 16, MaxDirectoryClusters = 4, MaxOwnedClusters = 1 << 20;

    private readonly IReadAt _img;
    private readonly IntactTree _tree;
    private readonly int _bps, _fatBits;
    private readonly long _cluster, _fatOffset, _fatBytes, _rootOffset, _rootBytes, _dataOffset;
    private readonly int _fats;
    private readonly uint _rootCluster;

    public FatStructures(IReadAt img, IntactTree tree)
    {
        _img = img;
        _tree = tree;
        var boot = Mutations.Read(img, 0, 512);
        _bps = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(11));
        _cluster = (long)_bps * boot[13];
        int reserved = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(14));
        _fats = boot[16];
        int rootEntries = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(17));
        long fatSectors = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(22));
        if (fatSectors == 0) fatSectors = BinaryPrimitives.ReadUInt32LittleEndian(boot.AsSpan(36));
        long total = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(19));
        if (total == 0) total = BinaryPrimitives.ReadUInt32LittleEndian(boot.AsSpan(32));
        _fatOffset = (long)reserved * _bps;
        _fatBytes = fatSectors * _bps;
        _rootOffset = _fatOffset + _fats * _fatBytes;
        _rootBytes = (long)rootEntries * EntrySize;
        _dataOffset = _rootOffset + (_rootBytes + _bps - 1) / _bps * _bps;
        long clusters = (total * _bps - _dataOffset) / _cluster;
        _fatBits = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
        _rootCluster = _fatBits == 32 ? BinaryPrimitives.ReadUInt32LittleEndian(boot.AsSpan(44)) : 0;
    }

    private long ClusterOffset(uint cluster) => _dataOffset + (cluster - 2L) * _cluster;

    private long EntryOffset(uint cluster, int fat = 0) => _fatOffset + fat * _fatBytes + (_fatBits == 12 ? cluster * 3 / 2 : cluster * (_fatBits / 8));

    private uint Next(uint cluster)
    {
        var b = Mutations.Read(_img, EntryOffset(cluster), 4);
        return _fatBits switch
        {
            12 => (uint)((cluster & 1) == 0 ? BinaryPrimitives.ReadUInt16LittleEndian(b) & 0xFFF : BinaryPrimitives.ReadUInt16LittleEndian(b) >> 4),
            16 => BinaryPrimitives.ReadUInt16LittleEndian(b),
            _ => BinaryPrimitives.ReadUInt32LittleEndian(b) & 0x0FFFFFFF,
        };
    }

    private bool IsEnd(uint next) => next < 2 || next >= (_fatBits == 12 ? 0xFF7u : _fatBits == 16 ? 0xFFF7u : 0x0FFFFFF7u);

    /// <summary>A FAT entry that sends <paramref name="cluster"/> to <paramref name="next"/> (FAT12 keeps its neighbour's nibble).</summary>
    private Patch[] SetNext(uint cluster, uint next)
    {
        var patches = new List<Patch>();
        for (int fat = 0; fat < _fats; fat++)
        {
            long at = EntryOffset(cluster, fat);
            var b = Mutations.Read(_img, at, 4);
            switch (_fatBits)
            {
                case 12:
                    ushort v = BinaryPrimitives.ReadUInt16LittleEndian(b);
                    v = (cluster & 1) == 0 ? (ushort)((v & 0xF000u) | (next & 0xFFFu)) : (ushort)((v & 0x000Fu) | ((next & 0xFFFu) << 4));
                    patches.Add(new Patch(at, Mutations.Le16(v)));
                    break;
                case 16: patches.Add(new Patch(at, Mutations.Le16((int)next))); break;
                default: patches.Add(new Patch(at, Mutations.Le32(next))); break;
            }
        }
        return patches.ToArray();
    }

    private List<uint> Chain(uint first, int max = MaxChain)
    {
        var chain = new List<uint>();
        var seen = new HashSet<uint>();
        for (uint c = first; !IsEnd(c) && chain.Count < max && seen.Add(c); c = Next(c)) chain.Add(c);
        return chain;
    }

    private uint FirstCluster(long entry)
    {
        var e = Mutations.Read(_img, entry, EntrySize);
        return (uint)BinaryPrimitives.ReadUInt16LittleEndian(e.AsSpan(20)) << 16 | BinaryPrimitives.ReadUInt16LittleEndian(e.AsSpan(26));
    }

    private Touch TouchOf(long id) => Touch.OfPaths(_tree.PathsById[id]);

    public List<MetadataRegion> Regions()
    {
        var regions = new List<MetadataRegion> { new("boot sector", 0, 512, Touch.All) };
        if (_fatBits == 32) regions.Add(new("FSInfo sector", _bps, _bps, Touch.All));
        // the start of each FAT (media byte, reserved entries); the entries of each file's chain follow below
        for (int fat = 0; fat < _fats; fat++) regions.Add(new($"FAT {fat} head", _fatOffset + fat * _fatBytes, 8, Touch.All));
        if (_fatBits == 32)
            foreach (uint c in Chain(_rootCluster)) regions.Add(new("root directory cluster", ClusterOffset(c), (int)_cluster, Touch.All));
        else
            regions.Add(new("root directory", _rootOffset, (int)Math.Min(_rootBytes, 4096), Touch.All));
        // FAT12 packs two entries in three bytes: a change to one entry's bytes may change its neighbours'
        var owner = new Dictionary<uint, long>();
        foreach (var e in _tree.Entries.Where(e => e.Path != "/"))
            foreach (uint c in Chain(FirstCluster(e.Id), MaxOwnedClusters)) owner.TryAdd(c, e.Id);
        Touch FatEntryTouch(uint c) => Touch.OfPaths(new[] { c - 1, c, c + 1 }.Where(owner.ContainsKey).SelectMany(n => _tree.PathsById[owner[n]]));
        foreach (var e in _tree.Entries.Where(e => e.Path != "/"))
        {
            var touch = TouchOf(e.Id);
            regions.Add(new($"directory entry {e.Id}", e.Id, EntrySize, touch));
            if (e.Id >= EntrySize && (Mutations.Read(_img, e.Id - EntrySize, 12)[11] & 0x3F) == 0x0F)
                regions.Add(new($"long-name entry before {e.Id}", e.Id - EntrySize, EntrySize, touch));
            var chain = Chain(FirstCluster(e.Id));
            foreach (uint c in chain.Take(4)) regions.Add(new($"FAT entry of node {e.Id}", EntryOffset(c), _fatBits == 32 ? 4 : 2, _fatBits == 12 ? FatEntryTouch(c) : touch));
            if (e.Type == FsNodeType.Directory)
                foreach (uint c in chain.Take(MaxDirectoryClusters)) regions.Add(new($"directory cluster of node {e.Id}", ClusterOffset(c), (int)_cluster, touch));
        }
        return regions;
    }

    /// <summary>
    /// Two files on the same clusters (the second's first cluster made the first's), a FAT chain that cycles back to
    /// its start, and a subdirectory entry whose cluster is its own parent's (a directory that contains its ancestor).
    /// </summary>
    public IEnumerable<CorruptionCase> CrossLinksAndLoops(string image)
    {
        var files = _tree.Entries.Where(e => e.Type == FsNodeType.File && e.Size > _cluster).OrderBy(e => e.Path, StringComparer.Ordinal).ToList();
        if (files.Count >= 2)
        {
            var (a, b) = (files[0], files[1]);
            var e = Mutations.Read(_img, a.Id, EntrySize);
            yield return new CorruptionCase(image, $"directory entry {b.Id}", $"cross-linked to {a.Path}",
                [new Patch(b.Id + 20, e[20..22]), new Patch(b.Id + 26, e[26..28])], null, TouchOf(b.Id));
        }
        foreach (var f in files.Take(3))
        {
            var chain = Chain(FirstCluster(f.Id));
            if (chain.Count < 2) continue;
            yield return new CorruptionCase(image, $"FAT entry of node {f.Id}", "chain cycles to its start", SetNext(chain[^1], chain[0]), null, TouchOf(f.Id));
            yield return new CorruptionCase(image, $"FAT entry of node {f.Id}", "chain points at itself", SetNext(chain[0], chain[0]), null, TouchOf(f.Id));
        }
        foreach (var sub in _tree.Entries.Where(e => e.Type == FsNodeType.Directory && e.Path.Count(ch => ch == '/') == 2).OrderBy(e => e.Path, StringComparer.Ordinal).Take(2))
        {
            string parentPath = sub.Path[..sub.Path.LastIndexOf('/')];
            var parent = _tree.ByPath[parentPath];
            var p = Mutations.Read(_img, parent.Id, EntrySize);
            yield return new CorruptionCase(image, $"directory entry {sub.Id}", "subdirectory is its parent (a loop)",
                [new Patch(sub.Id + 20, p[20..22]), new Patch(sub.Id + 26, p[26..28])], null, TouchOf(parent.Id));
        }
        var top = _tree.Entries.FirstOrDefault(e => e.Type == FsNodeType.Directory && e.Path.Count(ch => ch == '/') == 1 && e.Path != "/");
        if (top is not null)
            yield return new CorruptionCase(image, $"directory entry {top.Id}", "subdirectory is the root (a loop)",
                [new Patch(top.Id + 20, Mutations.Le16((int)(_rootCluster >> 16))), new Patch(top.Id + 26, Mutations.Le16((int)(_rootCluster & 0xFFFF)))], null, Touch.OfPaths([top.Path]));
    }
}
