using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>
/// Read-only FAT12/16/32 reader with VFAT long names.
///
/// Node ids: the root is <see cref="RootNodeId"/>; every other node's id is the byte offset (in the volume) of its
/// 8.3 directory entry: stable, unique, and never 1 (entries are 32-byte aligned). Nodes are registered in a
/// thread-safe id map when a directory listing first shows them (one small record per node reached); Stat and
/// Read of an id never listed fail with <see cref="FileReadException"/>.
/// Names: the VFAT long name when valid, else the 8.3 name with the NT lower-case flags; lookup is
/// case-insensitive on either (as Windows). Both are shown with <see cref="Utf16NameEscape"/> ('/' as %2F); a bogus
/// `.`/`..` entry and a second entry with the same name are left out and reported (<see cref="UnshownEntries"/>). Timestamps are the stored local time presented as UTC (<see cref="FatTime"/>).
/// </summary>
public sealed partial class FatFileSystem : IFileSystem, IReportsUnshownEntries
{
    public const long RootNodeId = 1;

    /// <summary>FAT directories hold at most 65,536 entries of 32 bytes (the spec, and Linux, enforce it).</summary>
    private const long MaxDirectoryBytes = 65536L * FatDirectoryReader.EntrySize;
    /// <summary>Cache charge per run of a cluster chain (three parallel arrays).</summary>
    private const long RunBytes = 24;
    private const ushort Fat16CleanBit = 0x8000;
    private const uint Fat32CleanBit = 0x08000000;

    private readonly IReadAt _data;
    private readonly string _name;
    private readonly FatBootSector _boot;
    private readonly FatTable _fat;
    private readonly ClusterHeap _heap;
    private readonly List<string> _warnings;
    private readonly FatNodeTable<FatNode> _nodes;
    private readonly BoundedCache<long, FatDirectory> _directories;
    private readonly BoundedCache<long, ClusterRuns> _chains;
    private readonly FsNode _root;
    private readonly Lazy<string?> _label;
    private readonly DirectoryClusterOwners _directoryClusters;

    private sealed record FatNode(FsNode Node, uint FirstCluster);

    private FatFileSystem(IReadAt data, string name, CacheBudget budget, FatBootSector boot, List<string> warnings)
    {
        _data = data;
        _name = name;
        _boot = boot;
        _warnings = warnings;
        _directories = new(budget);
        _chains = new(budget);
        _fat = new FatTable(data, name, budget, boot.FatOffset, boot.FatBytesUsed, boot.Kind, boot.ClusterCount);
        _heap = new ClusterHeap(data, name, boot.DataOffset, boot.ClusterSize);
        _root = new FsNode { Id = RootNodeId, Type = FsNodeType.Directory, Size = 0, Attributes = FsAttributes.None };
        _label = new Lazy<string?>(ReadLabel, LazyThreadSafetyMode.ExecutionAndPublication);
        _directoryClusters = new DirectoryClusterOwners(name);
        _nodes = new FatNodeTable<FatNode>(name);
    }

    public static IFileSystem Open(IReadAt data, string name, FileSystemOptions options)
    {
        var sector = new byte[FatBootSector.Size];
        data.ReadExactly(0, sector, name + ": FAT boot sector");
        var warnings = new List<string>();
        var boot = FatBootSector.Parse(sector, name, data.Length, warnings);
        var fs = new FatFileSystem(data, name, options.Cache ?? CacheBudget.Shared, boot, warnings);
        try
        {
            fs.CheckCleanShutdown();
            return fs;
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    public string Kind => _boot.KindName;

    /// <summary>The root directory's volume-label entry (what Windows shows), else the BPB label.</summary>
    public string? Label => _label.Value;

    public long RootId => RootNodeId;

    public IReadOnlyList<string> Warnings => _warnings;

    internal long ClusterSize => _boot.ClusterSize;

    public FsNode? Lookup(long directoryId, string name)
    {
        var dir = Directory(directoryId);
        return dir.Find(name)?.Node;
    }

    public IEnumerable<FsDirEntry> List(long directoryId) => Directory(directoryId).Entries;

    public IReadOnlyList<UnshownEntry> UnshownEntries(long directoryId) => Directory(directoryId).Unshown;

    public FsNode Stat(long id) => id == RootNodeId ? _root : Node(id).Node;

    public int Read(long id, long offset, Span<byte> destination)
    {
        var node = Node(id);
        if (node.Node.Type != FsNodeType.File) throw new FileReadException($"{_name}: node {id}", "is a directory");
        long size = node.Node.Size;
        if (offset >= size || destination.IsEmpty) return 0;
        if (node.FirstCluster == 0)
            throw new CorruptDataException(_name + ": directory entry", id, $"file of {size} bytes has no first cluster");
        if (!_chains.TryGet(id, out var runs)) runs = FileChain(id, node);
        return _heap.Read(runs, size, size, offset, destination, id);
    }

    private ClusterRuns FileChain(long id, FatNode node) => _chains.GetOrAdd(id,
        _ => _fat.Chain(node.FirstCluster, _heap.ClustersFor(node.Node.Size), -1, $"file at directory entry {id}", id),
        r => r.RunCount * RunBytes);

    public void Dispose()
    {
        _directories.Dispose();
        _chains.Dispose();
        _fat.Dispose();
    }

    private FatNode Node(long id) => _nodes.Get(id);

    private FatDirectory Directory(long id)
    {
        uint first = 0;
        if (id != RootNodeId)
        {
            var node = Node(id);
            if (node.Node.Type != FsNodeType.Directory) throw new FileReadException($"{_name}: node {id}", "not a directory");
            first = node.FirstCluster;
        }
        return _directories.GetOrAdd(id, _ => ParseDirectory(id, first), d => d.Weight);
    }

    private FatDirectory ParseDirectory(long id, uint firstCluster)
    {
        byte[] bytes;
        Func<long, long> offsetOf;
        if (id == RootNodeId && _boot.Kind != FatKind.Fat32)
        {
            bytes = new byte[_boot.RootDirLength];
            _data.ReadExactly(_boot.RootDirOffset, bytes, _name + ": root directory");
            long start = _boot.RootDirOffset;
            offsetOf = pos => start + pos;
        }
        else
        {
            uint first = id == RootNodeId ? _boot.RootCluster : firstCluster;
            string what = id == RootNodeId ? "root directory" : $"directory at entry {id}";
            if (first == 0)
                throw new CorruptDataException(_name + ": directory entry", id, "directory has no first cluster");
            long maxClusters = Math.Max(1, MaxDirectoryBytes / _heap.ClusterSize);
            var runs = _fat.Chain(first, -1, maxClusters, what, id);
            if (runs.Problem is not null) throw new CorruptDataException(_name + ": " + what, runs.ProblemOffset, runs.Problem);
            _directoryClusters.Claim(runs, id, _heap.OffsetOf);
            bytes = _heap.ReadWhole(runs, runs.ValidClusters * _heap.ClusterSize, id, out offsetOf);
        }

        var unshown = new List<UnshownEntry>();
        var records = FatDirectoryReader.Read(bytes, offsetOf, _boot.Kind == FatKind.Fat32, out string? label, unshown);
        var entries = new List<FsDirEntry>(records.Count);
        var byName = new Dictionary<string, int>(records.Count * 2, StringComparer.OrdinalIgnoreCase);
        var kept = new List<FatDirectoryRecord>(records.Count);
        for (int i = 0; i < records.Count; i++)
        {
            var r = records[i];
            var node = new FsNode
            {
                Id = r.EntryOffset,
                Type = r.IsDirectory ? FsNodeType.Directory : FsNodeType.File,
                Size = r.Size,
                Created = r.Created,
                Modified = r.Modified,
                Accessed = r.Accessed,
                Attributes = FatDirectoryReader.ToFsAttributes(r.Attributes),
                AllocatedSize = r.IsDirectory ? null : _heap.ClustersFor(r.Size) * _heap.ClusterSize,
            };
            if (!byName.TryAdd(r.Name, entries.Count))
            {
                unshown.Add(new UnshownEntry(r.Name, node.Id, "a second entry with the same name (up to case; the name shows the first)"));
                continue;
            }
            _nodes.Add(node.Id, new FatNode(node, r.FirstCluster));
            entries.Add(new FsDirEntry(r.Name, node));
            kept.Add(r);
        }
        for (int i = 0; i < kept.Count; i++) byName.TryAdd(kept[i].ShortName, i);
        return new FatDirectory([.. entries], byName, label, [.. unshown]);
    }

    private string? ReadLabel()
    {
        try
        {
            return Directory(RootNodeId).Label ?? _boot.BpbLabel;
        }
        catch (CorruptDataException)
        {
            return _boot.BpbLabel;
        }
    }

    /// <summary>FAT16/32 keep a "cleanly unmounted" bit in FAT entry 1; a backup of a running VM often has it clear.</summary>
    private void CheckCleanShutdown()
    {
        try
        {
            uint entry1 = _fat.Get(1);
            bool clean = _boot.Kind switch
            {
                FatKind.Fat16 => (entry1 & Fat16CleanBit) != 0,
                FatKind.Fat32 => (entry1 & Fat32CleanBit) != 0,
                _ => true,
            };
            if (!clean) _warnings.Add($"{_name}: the volume was not cleanly unmounted (FAT dirty bit set); contents may be inconsistent");
        }
        catch (CorruptDataException e)
        {
            _warnings.Add(e.Message);
        }
    }
}
