using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>
/// Read-only exFAT reader.
///
/// Node ids: the root is <see cref="RootNodeId"/>; every other node's id is the byte offset (in the volume) of its
/// file (0x85) directory entry. Nodes are registered in a thread-safe id map when a listing first shows them.
/// Files flagged NoFatChain are one contiguous run (their FAT entries are meaningless and never read); others
/// follow the FAT. Bytes past ValidDataLength read as zeros. Lookup folds case with the volume's up-case table.
/// Timestamps carry a UTC offset in exFAT; when it is marked valid the time is true UTC, otherwise the stored
/// local time is presented as UTC (as for FAT).
/// </summary>
public sealed partial class ExFatFileSystem : IFileSystem, IReportsUnshownEntries
{
    public const long RootNodeId = 1;

    /// <summary>exFAT allows 256 MiB directories; we read a directory whole, so we stop at 64 MiB (about 700,000 files).</summary>
    private const long MaxDirectoryBytes = 64L << 20;
    /// <summary>Cache charge per run of a cluster chain (three parallel arrays).</summary>
    private const long RunBytes = 24;

    private readonly IReadAt _data;
    private readonly string _name;
    private readonly ExFatBootSector _boot;
    private readonly FatTable _fat;
    private readonly ClusterHeap _heap;
    private readonly List<string> _warnings;
    private readonly FatNodeTable<ExFatNode> _nodes;
    private readonly BoundedCache<long, FatDirectory> _directories;
    private readonly BoundedCache<long, ClusterRuns> _chains;
    private readonly FsNode _root;
    private readonly DirectoryClusterOwners _directoryClusters;
    private string? _label;
    private ExFatUpCaseTable _upCase = ExFatUpCaseTable.Invariant;
    /// <summary>Where the root's up-case entry points (null: none); the change locator checks it is unchanged.</summary>
    private ExFatUpCaseLocation? _upCaseAt;

    private sealed record ExFatNode(FsNode Node, uint FirstCluster, bool NoFatChain, long ValidLength, string? Problem = null);

    private ExFatFileSystem(IReadAt data, string name, CacheBudget budget, ExFatBootSector boot, List<string> warnings)
    {
        _data = data;
        _name = name;
        _boot = boot;
        _warnings = warnings;
        _directories = new(budget);
        _chains = new(budget);
        _fat = new FatTable(data, name, budget, boot.FatOffset, boot.FatLength, FatKind.ExFat, boot.ClusterCount);
        _heap = new ClusterHeap(data, name, boot.HeapOffset, boot.ClusterSize);
        _root = new FsNode { Id = RootNodeId, Type = FsNodeType.Directory, Size = 0 };
        _directoryClusters = new DirectoryClusterOwners(name);
        _nodes = new FatNodeTable<ExFatNode>(name);
    }

    public static IFileSystem Open(IReadAt data, string name, FileSystemOptions options)
    {
        var sector = new byte[ExFatBootSector.Size];
        data.ReadExactly(0, sector, name + ": exFAT boot sector");
        var warnings = new List<string>();
        var boot = ExFatBootSector.Parse(sector, name, data.Length, warnings);
        var fs = new ExFatFileSystem(data, name, options.Cache ?? CacheBudget.Shared, boot, warnings);
        try
        {
            fs.CheckBootChecksum();
            fs.ReadRoot();
            return fs;
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    public string Kind => "exfat";

    public string? Label => _label;

    public long RootId => RootNodeId;

    public IReadOnlyList<string> Warnings
    {
        get
        {
            lock (_warnings) return [.. _warnings];
        }
    }

    public FsNode? Lookup(long directoryId, string name) => Directory(directoryId).Find(_upCase.Fold(name))?.Node;

    public IEnumerable<FsDirEntry> List(long directoryId) => Directory(directoryId).Entries;

    public IReadOnlyList<UnshownEntry> UnshownEntries(long directoryId) => Directory(directoryId).Unshown;

    public FsNode Stat(long id) => id == RootNodeId ? _root : Node(id).Node;

    public int Read(long id, long offset, Span<byte> destination)
    {
        var node = Usable(id);
        if (node.Node.Type != FsNodeType.File) throw new FileReadException($"{_name}: node {id}", "is a directory");
        long size = node.Node.Size;
        if (offset >= size || destination.IsEmpty) return 0;
        if (offset >= node.ValidLength)
        {
            int n = (int)Math.Min(destination.Length, size - offset);
            destination[..n].Clear();
            return n;
        }
        if (!_chains.TryGet(id, out var runs)) runs = StreamRuns(id, node, "file");
        return _heap.Read(runs, size, node.ValidLength, offset, destination, id);
    }

    public void Dispose()
    {
        _directories.Dispose();
        _chains.Dispose();
        _fat.Dispose();
    }

    private ExFatNode Node(long id) => _nodes.Get(id);

    /// <summary>A node whose entry set is damaged is listed, but its data and children are not trusted.</summary>
    private ExFatNode Usable(long id)
    {
        var node = Node(id);
        if (node.Problem is not null) throw new CorruptDataException($"{_name}: directory entry set", id, node.Problem);
        return node;
    }

    private ClusterRuns StreamRuns(long id, ExFatNode node, string what) => _chains.GetOrAdd(id, _ =>
    {
        // Directories are read up to their allocated size (DataLength), files up to the valid data.
        long bytes = node.Node.Type == FsNodeType.Directory ? node.Node.Size : node.ValidLength;
        long needed = _heap.ClustersFor(bytes);
        if (needed == 0) return ClusterRuns.Contiguous(2, 0);
        if (!node.NoFatChain)
            return _fat.Chain(node.FirstCluster, needed, -1, $"{what} at directory entry {id}", id);
        if (node.FirstCluster < 2 || node.FirstCluster + needed - 1 > _fat.MaxCluster)
        {
            long fits = node.FirstCluster < 2 ? 0 : Math.Clamp((long)_fat.MaxCluster - node.FirstCluster + 1, 0, needed);
            return new ClusterRuns([0], [Math.Max(2u, node.FirstCluster)], [fits], fits,
                $"{what} at directory entry {id}: contiguous run of {needed} clusters from cluster {node.FirstCluster} leaves the cluster heap (2..{_fat.MaxCluster})", id);
        }
        return ClusterRuns.Contiguous(node.FirstCluster, needed);
    }, r => r.RunCount * RunBytes);

    private FatDirectory Directory(long id)
    {
        if (id == RootNodeId) return _directories.GetOrAdd(id, key => ParseDirectory(key, null, out _, out _), d => d.Weight);
        var node = Usable(id);
        if (node.Node.Type != FsNodeType.Directory) throw new FileReadException($"{_name}: node {id}", "not a directory");
        return _directories.GetOrAdd(id, key => ParseDirectory(key, node, out _, out _), d => d.Weight);
    }

    private FatDirectory ParseDirectory(long id, ExFatNode? node, out string? label, out ExFatUpCaseLocation? upCase)
    {
        string what = id == RootNodeId ? "root directory" : $"directory at entry {id}";
        ClusterRuns runs;
        if (node is null)
        {
            // The root has no stream entry: its length is wherever its FAT chain ends.
            runs = _fat.Chain(_boot.RootCluster, -1, Math.Max(1, MaxDirectoryBytes / _heap.ClusterSize), what, 0);
        }
        else
        {
            if (node.Node.Size > MaxDirectoryBytes)
                throw new UnsupportedFeatureException($"{_name}: {what}", $"directory of {node.Node.Size} bytes (more than {MaxDirectoryBytes})");
            runs = StreamRuns(id, node, "directory");
        }
        if (runs.Problem is not null) throw new CorruptDataException($"{_name}: {what}", runs.ProblemOffset, runs.Problem);
        _directoryClusters.Claim(runs, id, _heap.OffsetOf);
        long length = runs.ValidClusters * _heap.ClusterSize;
        if (node is not null) length = Math.Min(length, node.Node.Size);
        var bytes = _heap.ReadWhole(runs, length, id, out var offsetOf);

        var problems = new List<CorruptDataException>();
        var records = ExFatDirectoryEntrySet.Read(bytes, offsetOf, $"{_name}: {what}", node is null, out label, out upCase, problems);
        foreach (var p in problems) AddWarning(p.Message + " (entry set skipped)");
        foreach (var r in records)
            if (r.Problem is not null) AddWarning($"{_name}: {what}: '{r.Name}' (entry at offset {r.EntryOffset}): {r.Problem}");
        var entries = new List<FsDirEntry>(records.Count);
        var unshown = new List<UnshownEntry>();
        var byName = new Dictionary<string, int>(records.Count, StringComparer.Ordinal);
        long heapBytes = (long)_boot.ClusterCount * _heap.ClusterSize;
        for (int i = 0; i < records.Count; i++)
        {
            var r = records[i];
            if (r.DataLength > (ulong)heapBytes)
                throw new CorruptDataException($"{_name}: {what}", r.EntryOffset, $"'{r.Name}' claims {r.DataLength} bytes, more than the whole cluster heap");
            var fsNode = new FsNode
            {
                Id = r.EntryOffset,
                Type = r.IsDirectory ? FsNodeType.Directory : FsNodeType.File,
                Size = (long)r.DataLength,
                Created = r.Created,
                Modified = r.Modified,
                Accessed = r.Accessed,
                Attributes = FatDirectoryReader.ToFsAttributes(r.Attributes),
                AllocatedSize = r.IsDirectory ? null : _heap.ClustersFor((long)r.DataLength) * _heap.ClusterSize,
            };
            if (r.Name is "." or "..")
            {
                unshown.Add(new UnshownEntry(r.Name, fsNode.Id, "an exFAT file name cannot be `.` or `..`"));
                continue;
            }
            if (!byName.TryAdd(_upCase.Fold(r.Name), entries.Count))
            {
                unshown.Add(new UnshownEntry(r.Name, fsNode.Id, "a second entry with the same name (up to case; the name shows the first)"));
                continue;
            }
            _nodes.Add(fsNode.Id, new ExFatNode(fsNode, r.FirstCluster, r.NoFatChain, (long)r.ValidDataLength, r.Problem));
            entries.Add(new FsDirEntry(r.Name, fsNode));
        }
        return new FatDirectory([.. entries], byName, label, [.. unshown]);
    }

    private const int MaxWarnings = 100;

    private void AddWarning(string warning)
    {
        lock (_warnings)
        {
            if (_warnings.Count < MaxWarnings && !_warnings.Contains(warning)) _warnings.Add(warning);
        }
    }

    /// <summary>Reads the root once at open: the label and the up-case table (needed before any lookup) live there.</summary>
    private void ReadRoot()
    {
        ParseDirectory(RootNodeId, null, out _label, out var upCase);
        _upCaseAt = upCase;
        if (upCase is { } u) _upCase = LoadUpCase(u);
        else _warnings.Add($"{_name}: no up-case table in the root directory; names are compared with invariant upper-casing");
        _directories.GetOrAdd(RootNodeId, key => ParseDirectory(key, null, out _, out _), d => d.Weight);
    }

    private ExFatUpCaseTable LoadUpCase(ExFatUpCaseLocation u)
    {
        if (u.Length == 0 || u.Length > ExFatUpCaseTable.MaxBytes)
        {
            _warnings.Add($"{_name}: up-case table of {u.Length} bytes ignored (at offset {u.EntryOffset}); using invariant upper-casing");
            return ExFatUpCaseTable.Invariant;
        }
        var runs = _fat.Chain(u.FirstCluster, _heap.ClustersFor((long)u.Length), -1, "up-case table", u.EntryOffset);
        if (runs.Problem is not null)
        {
            _warnings.Add($"{_name}: up-case table unreadable ({runs.Problem}); using invariant upper-casing");
            return ExFatUpCaseTable.Invariant;
        }
        var table = new byte[u.Length];
        _heap.Read(runs, table.Length, table.Length, 0, table, u.EntryOffset);
        uint sum = ExFatUpCaseTable.Checksum(table);
        if (sum != u.Checksum)
        {
            _warnings.Add($"{_name}: up-case table checksum mismatch (stored 0x{u.Checksum:X8}, computed 0x{sum:X8}, entry at offset {u.EntryOffset}); using invariant upper-casing");
            return ExFatUpCaseTable.Invariant;
        }
        return ExFatUpCaseTable.Decode(table);
    }

    private void CheckBootChecksum()
    {
        int bps = _boot.BytesPerSector;
        var region = new byte[(ExFatBootSector.ChecksummedSectors + 1) * bps];
        _data.ReadExactly(0, region, _name + ": exFAT boot region");
        uint computed = ExFatBootSector.Checksum(region, bps);
        uint stored = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(region.AsSpan(ExFatBootSector.ChecksummedSectors * bps));
        if (computed != stored)
            _warnings.Add($"{_name}: boot region checksum mismatch (sector 11 holds 0x{stored:X8}, computed 0x{computed:X8})");
    }
}
