using System.Buffers.Binary;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// The metadata of an intact exFAT image, found by walking it (main and backup boot regions, FAT, allocation bitmap,
/// up-case table, root directory, every file's entry set: file, stream extension and name entries, directories'
/// clusters), independently of our reader; the reader's node id is the volume offset of the file entry. Also the
/// cross-link and loop cases, with the entry set's checksum made right again so they reach the cluster walk.
/// </summary>
public sealed class ExFatStructures
{
    private const int EntrySize = 32, MaxDirectoryClusters = 4;
    private const byte BitmapEntry = 0x81, UpCaseEntry = 0x82;

    private readonly IReadAt _img;
    private readonly IntactTree _tree;
    private readonly int _bps;
    private readonly long _cluster, _fatOffset, _heapOffset;
    private readonly uint _rootCluster;

    public ExFatStructures(IReadAt img, IntactTree tree)
    {
        _img = img;
        _tree = tree;
        var boot = Mutations.Read(img, 0, 512);
        _bps = 1 << boot[108];
        _cluster = (long)_bps << boot[109];
        _fatOffset = (long)BinaryPrimitives.ReadUInt32LittleEndian(boot.AsSpan(80)) * _bps;
        _heapOffset = (long)BinaryPrimitives.ReadUInt32LittleEndian(boot.AsSpan(88)) * _bps;
        _rootCluster = BinaryPrimitives.ReadUInt32LittleEndian(boot.AsSpan(96));
    }

    private long ClusterOffset(uint cluster) => _heapOffset + (cluster - 2L) * _cluster;

    private List<uint> Chain(uint first, bool noFatChain, long length)
    {
        var chain = new List<uint>();
        long clusters = noFatChain ? Math.Max(1, (length + _cluster - 1) / _cluster) : MaxDirectoryClusters;
        for (uint c = first; c >= 2 && c < 0xFFFFFFF7 && chain.Count < Math.Min(clusters, MaxDirectoryClusters) && !chain.Contains(c);)
        {
            chain.Add(c);
            c = noFatChain ? c + 1 : BinaryPrimitives.ReadUInt32LittleEndian(Mutations.Read(_img, _fatOffset + c * 4L, 4));
        }
        return chain;
    }

    private Touch TouchOf(long id) => Touch.OfPaths(_tree.PathsById[id]);

    private bool InOneCluster(long id, int entries) => (id - _heapOffset) % _cluster + entries * EntrySize <= _cluster;

    public List<MetadataRegion> Regions()
    {
        var regions = new List<MetadataRegion>
        {
            new("main boot sector", 0, 512, Touch.All),
            new("main extended boot sector", _bps, _bps, Touch.All),
            new("main boot checksum sector", 11L * _bps, _bps, Touch.All),
            new("backup boot sector", 12L * _bps, 512, Touch.Nothing),
            new("FAT head", _fatOffset, 8, Touch.All),
        };
        foreach (uint c in Chain(_rootCluster, false, 0))
        {
            long at = ClusterOffset(c);
            regions.Add(new("root directory cluster", at, (int)_cluster, Touch.All));
            var dir = Mutations.Read(_img, at, (int)_cluster);
            for (int i = 0; i + EntrySize <= dir.Length; i += EntrySize)
            {
                if (dir[i] is not (BitmapEntry or UpCaseEntry)) continue;
                uint first = BinaryPrimitives.ReadUInt32LittleEndian(dir.AsSpan(i + 20));
                long length = BinaryPrimitives.ReadInt64LittleEndian(dir.AsSpan(i + 24));
                regions.Add(new(dir[i] == BitmapEntry ? "allocation bitmap entry" : "up-case table entry", at + i, EntrySize, Touch.All));
                regions.Add(new(dir[i] == BitmapEntry ? "allocation bitmap" : "up-case table", ClusterOffset(first), (int)Math.Min(length, 4096), Touch.All));
            }
        }
        foreach (var e in _tree.Entries.Where(e => e.Path != "/"))
        {
            var touch = TouchOf(e.Id);
            var set = Mutations.Read(_img, e.Id, EntrySize * 3);
            regions.Add(new($"file entry {e.Id}", e.Id, EntrySize, touch));
            // an entry set may go on in the directory's next cluster, which need not follow on the volume
            if (!InOneCluster(e.Id, 3)) continue;
            regions.Add(new($"stream extension entry of {e.Id}", e.Id + EntrySize, EntrySize, touch));
            regions.Add(new($"file name entry of {e.Id}", e.Id + 2 * EntrySize, EntrySize, touch));
            bool noFatChain = (set[EntrySize + 1] & 2) != 0;
            uint first = BinaryPrimitives.ReadUInt32LittleEndian(set.AsSpan(EntrySize + 20));
            long length = BinaryPrimitives.ReadInt64LittleEndian(set.AsSpan(EntrySize + 24));
            var chain = Chain(first, noFatChain, length);
            if (!noFatChain)
                foreach (uint c in chain) regions.Add(new($"FAT entry of node {e.Id}", _fatOffset + c * 4L, 4, touch));
            if (e.Type == FsNodeType.Directory)
                foreach (uint c in chain) regions.Add(new($"directory cluster of node {e.Id}", ClusterOffset(c), (int)_cluster, touch));
        }
        return regions;
    }

    /// <summary>The entry set of the node at <paramref name="id"/> with its first cluster (and flags) replaced and the set checksum recomputed.</summary>
    private Patch[] Retarget(long id, uint first, byte flags, long length)
    {
        int count = Mutations.Read(_img, id, 2)[1] + 1;
        if (!InOneCluster(id, count)) return [];
        var set = Mutations.Read(_img, id, count * EntrySize);
        set[EntrySize + 1] = flags;
        BinaryPrimitives.WriteUInt32LittleEndian(set.AsSpan(EntrySize + 20), first);
        BinaryPrimitives.WriteInt64LittleEndian(set.AsSpan(EntrySize + 8), length);
        BinaryPrimitives.WriteInt64LittleEndian(set.AsSpan(EntrySize + 24), length);
        ushort sum = 0;
        for (int i = 0; i < set.Length; i++)
            if (i is not (2 or 3)) sum = (ushort)(((sum & 1) != 0 ? 0x8000 : 0) + (sum >> 1) + set[i]);
        BinaryPrimitives.WriteUInt16LittleEndian(set.AsSpan(2), sum);
        return [new Patch(id, set)];
    }

    /// <summary>Two files on the same clusters, a subdirectory that is its parent, and one that is the root.</summary>
    public IEnumerable<CorruptionCase> CrossLinksAndLoops(string image)
    {
        (uint First, byte Flags, long Length) Stream(long id)
        {
            var s = Mutations.Read(_img, id + EntrySize, EntrySize);
            return (BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(20)), s[1], BinaryPrimitives.ReadInt64LittleEndian(s.AsSpan(24)));
        }
        var files = _tree.Entries.Where(e => e.Type == FsNodeType.File && e.Size > _cluster).OrderBy(e => e.Path, StringComparer.Ordinal).ToList();
        if (files.Count >= 2)
        {
            var (a, b) = (files[0], files[1]);
            var sa = Stream(a.Id);
            yield return new CorruptionCase(image, $"stream extension entry of {b.Id}", $"cross-linked to {a.Path}", Retarget(b.Id, sa.First, sa.Flags, sa.Length), null, TouchOf(b.Id));
        }
        foreach (var sub in _tree.Entries.Where(e => e.Type == FsNodeType.Directory && e.Path.Count(ch => ch == '/') == 2).OrderBy(e => e.Path, StringComparer.Ordinal).Take(2))
        {
            var parent = _tree.ByPath[sub.Path[..sub.Path.LastIndexOf('/')]];
            var sp = Stream(parent.Id);
            yield return new CorruptionCase(image, $"stream extension entry of {sub.Id}", "subdirectory is its parent (a loop)", Retarget(sub.Id, sp.First, sp.Flags, sp.Length), null, TouchOf(parent.Id));
        }
        var top = _tree.Entries.FirstOrDefault(e => e.Type == FsNodeType.Directory && e.Path.Count(ch => ch == '/') == 1 && e.Path != "/");
        if (top is not null)
            yield return new CorruptionCase(image, $"stream extension entry of {top.Id}", "subdirectory is the root (a loop)", Retarget(top.Id, _rootCluster, 1, _cluster), null, TouchOf(top.Id));
    }
}
