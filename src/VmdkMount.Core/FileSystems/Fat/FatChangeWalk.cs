using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>
/// What a directory entry says of its node: where its content is read from (first cluster, size, flags) and its
/// times and attributes. Two points whose entries at the same place hold equal keys read the same bytes, unless a FAT
/// entry of its chain or one of its clusters differs (which the walk must then explain by another owner, or fall
/// back). The times are in the key because a writer updates them: a file rewritten in the same clusters at the same
/// size is then a node that may differ, not bytes nobody explains.
/// </summary>
internal readonly record struct FatStreamKey(uint FirstCluster, long Size, long ValidLength, bool NoFatChain, bool IsDirectory, string? Problem,
    FsTime? Modified, FsTime? Created, FsTime? Accessed, FsAttributes Attributes)
{
    public static FatStreamKey Of(FsNode node, uint firstCluster, long validLength, bool noFatChain, string? problem) =>
        new(firstCluster, node.Size, validLength, noFatChain, node.Type == FsNodeType.Directory, problem, node.Modified, node.Created, node.Accessed, node.Attributes);
}

/// <summary>An entry of a FAT or exFAT listing as <see cref="FatChangeWalk"/> sees it: shown name, node id, stream.</summary>
internal readonly record struct FatEntryFacts(string Name, long Id, FatStreamKey Stream)
{
    public bool IsDirectory => Stream.IsDirectory;
}

/// <summary>One point's FAT or exFAT volume as <see cref="FatChangeWalk"/> reads it.</summary>
internal interface IFatChangeVolume
{
    ClusterHeap Heap { get; }

    /// <summary>The shown entries of a folder (the reader's own listing, so ids and names are the ones it answers).</summary>
    IReadOnlyList<FatEntryFacts> Entries(long folderId);

    /// <summary>The clusters a listed node is read from (a folder: its listing; a file: its whole allocation), or empty.</summary>
    ClusterRuns Clusters(long id);

    /// <summary>The clusters of the folder whose entry (at <paramref name="id"/>) names <paramref name="firstCluster"/>; it need not be listed.</summary>
    ClusterRuns FolderClusters(long id, uint firstCluster);

    /// <summary>
    /// Adds the subfolders (entry place, first cluster) a folder's entries name, read from its clusters without
    /// listing it (no node is registered: cheap for a folder that lists the same in both points); false when this
    /// reader cannot (the folder is then listed).
    /// </summary>
    bool TryScanSubfolders(long id, ClusterRuns clusters, List<(long Id, uint FirstCluster)> subfolders);

    /// <summary>True when no file or folder of this point uses the cluster (FAT: a free entry; exFAT: a clear bitmap bit).</summary>
    bool IsFree(uint cluster);
}

/// <summary>
/// The fast path of `changed` shared by FAT12/16/32 and exFAT: the folders to visit and the nodes that may differ,
/// from the cluster-heap bytes and the FAT entries that differ between two points.
///
/// Why it finds every change (each point being a consistent volume, where a cluster has at most one owner): a node's
/// id is the place of its directory entry, and what it reads is decided by that entry (first cluster, size, flags),
/// the FAT entries of its chain and its clusters. Both directory trees are walked side by side by name (no file's
/// data is read). A folder pair that is the same entry, with the same key, whose clusters and chain did not change,
/// lists the same in both points and is read once, in the newer point (FAT: scanned for its subfolders only, no
/// node registered); any other pair is compared entry by entry: an entry whose id is
/// not in the other listing with the same key may differ, and its chain is walked in its point. The clusters and FAT
/// entries those walks pass are explained (their owner is compared); so are clusters free in both points. What is
/// left unexplained belongs to a node whose entry did not change (data rewritten in place with the entry left alone),
/// and then the volume is walked whole.
/// </summary>
internal static class FatChangeWalk
{
    public const long RootId = 1;

    private const long Absent = -1;

    /// <summary>A walk of more folders than this is a looping directory structure, not a tree.</summary>
    private const int MaxLocatedFolders = 50_000_000;

    /// <summary>More differing FAT entries than this means the volume was rewritten wholesale: walk it.</summary>
    public const int WholesaleFatEntries = 4_000_000;

    /// <summary>No byte differs: only the root is visited, and it lists the same.</summary>
    public static ChangeLocation Nothing() =>
        ChangeLocation.Folders(new HashSet<long> { RootId }, new HashSet<long> { RootId }, new HashSet<long>(), new HashSet<long>());

    /// <param name="heapDiffering">The differing byte ranges inside the cluster heap (what metadata explains already taken out).</param>
    /// <param name="fatDiffering">Clusters whose FAT entry reads differently in the two points.</param>
    /// <param name="rootDiffers">The root listing may differ though no cluster says so (the FAT12/16 root region differs).</param>
    public static ChangeLocation Locate(IFatChangeVolume newer, IFatChangeVolume older, VolumeRangeSet heapDiffering, HashSet<uint> fatDiffering, bool rootDiffers)
    {
        var heap = heapDiffering.Copy();
        var fat = new HashSet<uint>(fatDiffering);
        var walk = new Walk(newer, older, heapDiffering, fatDiffering, heap, fat);
        string? problem;
        try
        {
            problem = walk.Run(!rootDiffers);
        }
        catch (Exception e) when (e is CorruptDataException or FileReadException or UnsupportedFeatureException)
        {
            // The full walk meets the same damage: let it, where it is reported as it always is.
            return ChangeLocation.Fallback($"a folder cannot be read ({e.Message})");
        }
        if (problem is not null) return ChangeLocation.Fallback(problem);
        RemoveFreeInBoth(newer, older, heap, fat);
        if (!heap.IsEmpty)
        {
            var (first, _) = heap.Ranges.First();
            return ChangeLocation.Fallback($"{heap.TotalBytes:N0} bytes differ (the first at volume offset {first}) that no differing directory entry " +
                "explains: data rewritten in place without a directory entry update");
        }
        if (fat.Count > 0)
            return ChangeLocation.Fallback($"the FAT entries of {fat.Count:N0} clusters differ (the first of cluster {fat.Min()}) that no differing directory " +
                "entry explains: a chain changed without a directory entry update");
        return walk.Result();
    }

    /// <summary>Takes out the clusters no node of either point uses: no listing or file reads them.</summary>
    private static void RemoveFreeInBoth(IFatChangeVolume newer, IFatChangeVolume older, VolumeRangeSet heap, HashSet<uint> fat)
    {
        var h = newer.Heap;
        long cs = h.ClusterSize;
        foreach (var (offset, length) in heap.Ranges.ToList())
        {
            uint first = ClusterAt(h, offset), last = ClusterAt(h, offset + length - 1);
            for (uint c = first; c <= last && c >= first; c++)
                if (newer.IsFree(c) && older.IsFree(c)) heap.Remove(h.OffsetOf(c), cs);
        }
        fat.RemoveWhere(c => newer.IsFree(c) && older.IsFree(c));
    }

    private static uint ClusterAt(ClusterHeap heap, long offset) => (uint)((offset - heap.OffsetOf(2)) / heap.ClusterSize + 2);

    private sealed class Walk(IFatChangeVolume newer, IFatChangeVolume older, VolumeRangeSet differing, HashSet<uint> fatDiffering,
        VolumeRangeSet heap, HashSet<uint> fat)
    {
        /// <summary>
        /// Folder pairs walked; NewListed / OldListed: that point listed the parent, so its reader knows the id (a
        /// folder found by scanning a folder that lists the same is known to neither); First: the newer entry's first cluster.
        /// </summary>
        private readonly List<(long New, long Old, int Parent, bool Marked, bool NewListed, bool OldListed, uint First)> _nodes = [];
        private readonly List<(long Id, uint FirstCluster)> _scanned = [];
        private readonly Stack<(int Index, bool EntrySame)> _pending = new();
        private readonly HashSet<(long, long)> _visited = [];
        private readonly HashSet<long> _candidates = [];
        private readonly HashSet<long> _newFolders = [];
        private readonly HashSet<long> _oldFolders = [];
        /// <summary>Every folder pair walked: true when it lists the same in both points (read once).</summary>
        private readonly Dictionary<(long, long), bool> _sameListing = [];

        public string? Run(bool rootSame)
        {
            _nodes.Add((RootId, RootId, -1, false, true, true, 0));
            _visited.Add((RootId, RootId));
            _pending.Push((0, rootSame));
            while (_pending.Count > 0)
            {
                if (_nodes.Count > MaxLocatedFolders) return $"more than {MaxLocatedFolders} folders: the directory structure loops";
                var (index, entrySame) = _pending.Pop();
                var (n, o, _, _, _, _, first) = _nodes[index];
                if (n == Absent || o == Absent)
                {
                    OneSided(index, n != Absent ? newer : older, n != Absent ? n : o, n != Absent);
                    continue;
                }
                var runs = newer.FolderClusters(n, first);
                if (entrySame && n == o && !Touches(runs))
                {
                    // Lists the same in both points: only its subfolders matter, found by a scan where the reader can.
                    if (runs.Problem is not null) return $"a folder cannot be read ({runs.Problem})";
                    _sameListing[(n, o)] = true;
                    _scanned.Clear();
                    if (newer.TryScanSubfolders(n, runs, _scanned))
                    {
                        foreach (var (id, firstCluster) in _scanned)
                            if (_visited.Add((id, id))) Push(index, id, id, true, newListed: false, oldListed: false, firstCluster);
                    }
                    else
                    {
                        // Only a listed folder gets here (a reader that cannot scan is never scanned through).
                        foreach (var e in newer.Entries(n))
                            if (e.IsDirectory && _visited.Add((e.Id, e.Id))) Push(index, e.Id, e.Id, true, newListed: true, oldListed: false, e.Stream.FirstCluster);
                    }
                    continue;
                }
                _sameListing[(n, o)] = false;
                ListParents(index);
                Explain(runs);
                Explain(older.Clusters(o));
                var newEntries = newer.Entries(n);
                var oldEntries = older.Entries(o);
                var newById = ById(newEntries);
                var oldById = ById(oldEntries);
                foreach (var e in newEntries) Compare(e, oldById, newer);
                foreach (var e in oldEntries) Compare(e, newById, older);
                var oldByName = new Dictionary<string, FatEntryFacts>(oldEntries.Count, StringComparer.Ordinal);
                foreach (var e in oldEntries) oldByName.TryAdd(e.Name, e);
                var newDirNames = new HashSet<string>(StringComparer.Ordinal);
                foreach (var e in newEntries)
                {
                    if (!e.IsDirectory) continue;
                    newDirNames.Add(e.Name);
                    if (oldByName.TryGetValue(e.Name, out var oe) && oe.IsDirectory)
                    {
                        if (_visited.Add((e.Id, oe.Id))) Push(index, e.Id, oe.Id, e.Id == oe.Id && e.Stream == oe.Stream, true, true, e.Stream.FirstCluster);
                    }
                    else if (_visited.Add((e.Id, Absent))) Push(index, e.Id, Absent, false, true, true, e.Stream.FirstCluster);
                }
                foreach (var e in oldEntries)
                    if (e.IsDirectory && !newDirNames.Contains(e.Name) && _visited.Add((Absent, e.Id))) Push(index, Absent, e.Id, false, true, true, 0);
                for (int j = index; j >= 0 && !_nodes[j].Marked; j = _nodes[j].Parent)
                {
                    _nodes[j] = _nodes[j] with { Marked = true };
                    _newFolders.Add(_nodes[j].New);
                    _oldFolders.Add(_nodes[j].Old);
                }
            }
            return null;
        }

        public ChangeLocation Result()
        {
            _newFolders.Add(RootId);
            _oldFolders.Add(RootId);
            return ChangeLocation.Folders(_newFolders, _oldFolders, _candidates, _candidates, NamesOfInterest);
        }

        /// <summary>A folder in one point only: everything below it is listed as added or deleted; its clusters are explained.</summary>
        private void OneSided(int index, IFatChangeVolume fs, long id, bool isNewer)
        {
            Explain(fs.Clusters(id));
            foreach (var e in fs.Entries(id))
            {
                _candidates.Add(e.Id);
                if (!e.IsDirectory) Explain(fs.Clusters(e.Id));
                else if (_visited.Add(isNewer ? (e.Id, Absent) : (Absent, e.Id))) Push(index, isNewer ? e.Id : Absent, isNewer ? Absent : e.Id, false, true, true, 0);
            }
        }

        /// <summary>An entry not in the other listing at the same place with the same stream may differ: its chain is walked.</summary>
        private void Compare(FatEntryFacts e, Dictionary<long, FatStreamKey> other, IFatChangeVolume fs)
        {
            if (other.TryGetValue(e.Id, out var key) && key == e.Stream) return;
            _candidates.Add(e.Id);
            // A folder's clusters are explained when it is walked (every folder that may differ is).
            if (!e.IsDirectory) Explain(fs.Clusters(e.Id));
        }

        private static Dictionary<long, FatStreamKey> ById(IReadOnlyList<FatEntryFacts> entries)
        {
            var byId = new Dictionary<long, FatStreamKey>(entries.Count);
            foreach (var e in entries) byId.TryAdd(e.Id, e.Stream);
            return byId;
        }

        private void Push(int parent, long childNew, long childOld, bool entrySame, bool newListed, bool oldListed, uint first)
        {
            _nodes.Add((childNew, childOld, parent, false, newListed, oldListed, first));
            _pending.Push((_nodes.Count - 1, entrySame));
        }

        /// <summary>
        /// A folder below folders that list the same was found by scanning, or through the newer point's listings
        /// only; a reader knows a node once a listing showed it, so its ancestors are listed first, in each point
        /// that has not (top down, each once).
        /// </summary>
        private void ListParents(int index)
        {
            var unlisted = new List<int>();
            for (int j = index; j > 0 && !(_nodes[j].NewListed && _nodes[j].OldListed); j = _nodes[j].Parent) unlisted.Add(j);
            for (int k = unlisted.Count - 1; k >= 0; k--)
            {
                int j = unlisted[k];
                var parent = _nodes[_nodes[j].Parent];
                if (!_nodes[j].NewListed) newer.Entries(parent.New);
                if (!_nodes[j].OldListed) older.Entries(parent.Old);
                _nodes[j] = _nodes[j] with { NewListed = true, OldListed = true };
            }
        }

        /// <summary>Whether any cluster of a folder, or the FAT entry that chains it, differs.</summary>
        private bool Touches(ClusterRuns runs)
        {
            long cs = newer.Heap.ClusterSize;
            long index = 0;
            while (runs.TryMap(index, out uint first, out long count))
            {
                if (differing.Overlaps(newer.Heap.OffsetOf(first), count * cs)) return true;
                if (fatDiffering.Count > 0)
                    for (long k = 0; k < count; k++)
                        if (fatDiffering.Contains((uint)(first + k))) return true;
                index += count;
            }
            return false;
        }

        /// <summary>Takes a node's clusters and their FAT entries out of what is unexplained: the node is compared.</summary>
        private void Explain(ClusterRuns runs)
        {
            long cs = newer.Heap.ClusterSize;
            long index = 0;
            while (runs.TryMap(index, out uint first, out long count))
            {
                heap.Remove(newer.Heap.OffsetOf(first), count * cs);
                if (fat.Count > 0)
                    for (long k = 0; k < count; k++) fat.Remove((uint)(first + k));
                index += count;
            }
        }

        /// <summary>
        /// The entries of a walked folder pair that may differ (see <see cref="ChangeLocation.NamesOfInterest"/>). A
        /// listing shows each name once up to case, and a lookup answers the entry whose shown name it is, so a name
        /// looked up only where its listing shows it answers that very entry.
        /// </summary>
        private List<EntryOfInterest>? NamesOfInterest(long n, long o)
        {
            if (!_sameListing.TryGetValue((n, o), out bool same)) return null;
            var names = new List<EntryOfInterest>();
            var newEntries = newer.Entries(n);
            if (same)
            {
                foreach (var e in newEntries)
                    if (_candidates.Contains(e.Id) || (e.IsDirectory && _newFolders.Contains(e.Id))) names.Add(new EntryOfInterest(e.Name, true, true));
                return names;
            }
            var oldEntries = older.Entries(o);
            var oldByName = new Dictionary<string, FatEntryFacts>(oldEntries.Count, StringComparer.Ordinal);
            foreach (var e in oldEntries) oldByName.TryAdd(e.Name, e);
            var newNames = new HashSet<string>(StringComparer.Ordinal);
            foreach (var e in newEntries)
            {
                newNames.Add(e.Name);
                bool inOld = oldByName.TryGetValue(e.Name, out var before);
                if (!inOld || before.Id != e.Id || _candidates.Contains(e.Id) || e.IsDirectory || before.IsDirectory)
                    names.Add(new EntryOfInterest(e.Name, true, inOld));
            }
            foreach (var e in oldEntries)
                if (!newNames.Contains(e.Name)) names.Add(new EntryOfInterest(e.Name, false, true));
            return names;
        }
    }
}
