using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.Mounting.RestorePoints;

/// <summary>
/// What changed between two points, by walking both trees side by side through the mount model (a
/// <see cref="MountTree"/> per point and volume, letting go of each folder once passed, so memory follows the
/// walk's frontier). Iterative; a node present in both is compared by <see cref="NodeSameness"/>, so a file the
/// links between the points never wrote costs its placement only. A folder added or deleted is listed with every path
/// below it; a path in both points is listed once, as modified, however it changed in between.
///
/// The fast path (issue 15): when the reader can locate changes (<see cref="IChangeLocator"/>), the bytes that differ
/// between the points (<see cref="DifferingRanges"/>) are mapped to the folders that can list differently, and the
/// walk descends only into those (and, as always, into every folder added or deleted). Every folder it visits is
/// compared exactly as the full walk compares it, and a folder it skips is one whose listing and entries read the same
/// in both points, so the answer is the full walk's; the cost follows what changed.
/// </summary>
public static class TreeComparison
{
    /// <summary>A walk that visits more folders than this is stopped (a looping directory structure, not a real tree).</summary>
    public const long MaxFolders = 50_000_000;

    /// <summary>
    /// The changes from point <paramref name="older"/> to point <paramref name="newer"/> (indexes of
    /// <paramref name="points"/>; newer &lt;= older), per volume in ordinal order of their ids, each sorted by path.
    /// </summary>
    /// <param name="progress">Told, after each folder pair, the volume and the entries compared in it so far.</param>
    /// <param name="full">Walk both trees whole, never the fast path (`changed --full`).</param>
    public static IReadOnlyList<VolumeChanges> Compare(RestorePointSet points, int newer, int older, string? onlyVolume = null,
        IProgress<ComparisonProgress>? progress = null, bool full = false)
    {
        var to = points.Point(newer);
        var from = points.Point(older);
        var ids = Mountable(to).Concat(Mountable(from)).Distinct(StringComparer.Ordinal)
            .Where(id => onlyVolume is null || id == onlyVolume).Order(StringComparer.Ordinal).ToList();
        if (onlyVolume is not null && ids.Count == 0)
            throw new SourceUnavailableException($"{to.Disk.Source}:{onlyVolume}", "no such mountable volume in either point");
        var result = new List<VolumeChanges>();
        foreach (var id in ids)
        {
            var newTree = TreeOf(to, id);
            var oldTree = TreeOf(from, id);
            var newVolume = newTree is not null ? to.GetVolume(id) : null;
            var oldVolume = oldTree is not null ? from.GetVolume(id) : null;
            string method = newTree is null ? "deleted" : oldTree is null ? "added" : "tree";
            string? note = null;
            ChangeLocation? located = null;
            if (method == "tree" && !full)
            {
                var location = Locate(points, newer, older, newVolume!, oldVolume!, newTree!, oldTree!);
                if (location.FallbackReason is { } reason) note = reason;
                else
                {
                    method = "located";
                    located = location;
                }
            }
            var changes = Walk(points, newer, older, (newVolume ?? oldVolume)!, (oldVolume ?? newVolume)!, newTree, oldTree, progress, located);
            changes.Sort((x, y) => string.CompareOrdinal(x.Path, y.Path));
            result.Add(new VolumeChanges(id, method, changes, note));
        }
        return result;
    }

    /// <summary>The folders of each point the fast path must visit, or why the volume must be walked whole.</summary>
    private static ChangeLocation Locate(RestorePointSet points, int newer, int older, Volume newVolume, Volume oldVolume,
        MountTree newTree, MountTree oldTree)
    {
        var newFs = newTree.Root.FileSystem!;
        var oldFs = oldTree.Root.FileSystem!;
        if (newFs is not IChangeLocator locator)
            return ChangeLocation.Fallback($"the {newFs.Kind} reader cannot map changed ranges to files yet");
        if (oldFs.GetType() != newFs.GetType())
            return ChangeLocation.Fallback($"the filesystem is {oldFs.Kind} in the older point and {newFs.Kind} in the newer");
        var differing = DifferingRanges.Of(points, newer, older, newVolume, oldVolume, out string? reason);
        return differing is null ? ChangeLocation.Fallback(reason!) : locator.Locate(oldFs, differing);
    }

    private static IEnumerable<string> Mountable(MountedDisk disk) => disk.Layout.Volumes.Where(v => v.Mountable).Select(v => v.Id);

    private static MountTree? TreeOf(MountedDisk disk, string id) =>
        disk.Layout.Volumes.Any(v => v.Id == id && v.Mountable)
            ? new MountTree(disk, new MountTreeOptions { SingleVolume = id, Retention = NodeRetention.UntilPassed })
            : null;

    /// <param name="located">Null: every folder pair present in both points is walked. Otherwise only the pairs whose
    /// folder is in its sets (folders in one point only are always walked: everything below them is listed), and a
    /// node it knows to be unchanged is not compared.</param>
    private static List<PointChange> Walk(RestorePointSet points, int newer, int older, Volume volume, Volume oldVolume, MountTree? newTree, MountTree? oldTree,
        IProgress<ComparisonProgress>? progress, ChangeLocation? located)
    {
        var changes = new List<PointChange>();
        long entries = 0;
        var pending = new Stack<(string Path, MountInode? New, MountInode? Old)>();
        pending.Push(("", newTree?.Root, oldTree?.Root));
        for (long folders = 0; pending.Count > 0; folders++)
        {
            if (folders >= MaxFolders)
                throw new CorruptDataException($"{volume.Id}:/", 0, $"more than {MaxFolders} folders: the directory structure loops");
            var (path, n, o) = pending.Pop();
            IReadOnlyList<(string Name, MountInode Inode)> newEntries, oldEntries;
            if (located is not null && n is { IsDirectory: true } && o is { IsDirectory: true }
                && located.NamesOfInterest(n.Node!.Id, o.Node!.Id) is { } names)
            {
                // Only the entries that may differ are looked up, in each point; the others are the same unchanged node.
                var ne = new List<(string, MountInode)>(names.Count);
                var oe = new List<(string, MountInode)>(names.Count);
                foreach (var (name, inNewer, inOlder) in names)
                {
                    if (inNewer && newTree!.Lookup(n, name) is { } cn) ne.Add((name, cn));
                    if (inOlder && oldTree!.Lookup(o, name) is { } co) oe.Add((name, co));
                }
                newEntries = ne;
                oldEntries = oe;
            }
            else
            {
                newEntries = n is { IsDirectory: true } ? newTree!.List(n) : [];
                oldEntries = o is { IsDirectory: true } ? oldTree!.List(o) : [];
            }
            var oldByName = new Dictionary<string, MountInode>(oldEntries.Count, StringComparer.Ordinal);
            foreach (var (name, inode) in oldEntries) oldByName.TryAdd(name, inode);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (name, cn) in newEntries)
            {
                if (!seen.Add(name)) continue;
                string childPath = path + "/" + name;
                if (!oldByName.TryGetValue(name, out var co))
                {
                    changes.Add(new PointChange(childPath, ChangeKind.Added, cn.Node!.Type));
                    if (cn.IsDirectory) pending.Push((childPath, cn, null));
                    continue;
                }
                bool bothDirs = cn.IsDirectory && co.IsDirectory;
                bool unchanged = located is not null && located.Unchanged(cn.Node!.Id, co.Node!.Id);
                if (!unchanged && !NodeSameness.Compare(points, newer, older, volume, oldVolume, cn, co).Same)
                    changes.Add(new PointChange(childPath, ChangeKind.Modified, cn.Node!.Type));
                if (bothDirs)
                {
                    if (located is null || located.NewerFolders.Contains(cn.Node!.Id) || located.OlderFolders.Contains(co.Node!.Id))
                        pending.Push((childPath, cn, co));
                }
                else if (cn.IsDirectory) pending.Push((childPath, cn, null));
                else if (co.IsDirectory) pending.Push((childPath, null, co));
            }
            foreach (var (name, co) in oldEntries)
            {
                if (!seen.Add(name)) continue;
                string childPath = path + "/" + name;
                changes.Add(new PointChange(childPath, ChangeKind.Deleted, co.Node!.Type));
                if (co.IsDirectory) pending.Push((childPath, null, co));
            }
            entries += newEntries.Count + oldEntries.Count;
            progress?.Report(new ComparisonProgress(volume.Id, folders + 1, entries, changes.Count));
            if (n is not null) newTree!.Passed(n);
            if (o is not null) oldTree!.Passed(o);
        }
        return changes;
    }
}

/// <summary>How far a comparison has got in one volume: folder pairs and entries compared, changes found.</summary>
public readonly record struct ComparisonProgress(string VolumeId, long Folders, long Entries, int Changes);
