using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems;

/// <summary>What a bounded walk of a volume's tree found.</summary>
public sealed record TreeCheckResult(IReadOnlyList<FsProblem> Problems, long Directories, long Entries, bool Complete, int ProblemsNotListed);

/// <summary>
/// The reader-neutral part of `check`: a walk of the directory tree from the root, breadth first and iterative, bounded
/// in entries, that lists every directory, reads every symlink's target and asks the allocation map of every file
/// (bounded runs per file), and reports each directory, link or file that cannot be shown. A directory reached a second
/// time (a loop, or a second parent on a damaged volume) is reported and not entered again.
/// </summary>
public static class FileSystemTreeCheck
{
    /// <summary>Entries visited before the walk stops (a clean 100,000-entry volume checks in seconds).</summary>
    public const long DefaultMaxEntries = 100_000;

    /// <summary>Problems listed per volume; the rest are counted.</summary>
    public const int MaxListedProblems = 200;

    /// <summary>Runs asked of a file's allocation map: enough to decode its runlist or extent tree start, bounded per file.</summary>
    private const int MaxRunsPerFile = 4096;

    /// <param name="perDirectory">
    /// Extra problems per listed directory (node id, path), e.g. names a damaged volume cannot show; called after the
    /// directory's own listing succeeded or failed.
    /// </param>
    /// <param name="entriesWalked">Told the running entry count after each directory (a progress display).</param>
    public static TreeCheckResult Walk(IFileSystem fs, long maxEntries, CancellationToken cancel,
        Func<long, string, IEnumerable<FsProblem>>? perDirectory = null, IProgress<long>? entriesWalked = null)
    {
        var problems = new List<FsProblem>();
        int notListed = 0;
        void Report(FsProblem p)
        {
            if (problems.Count < MaxListedProblems) problems.Add(p);
            else notListed++;
        }

        var map = fs as IFileAllocationMap;
        var seen = new HashSet<long> { fs.RootId };
        var pending = new Queue<(long Id, string Path)>();
        pending.Enqueue((fs.RootId, "/"));
        long directories = 0, entries = 0;
        bool complete = true;
        try
        {
            var root = fs.Stat(fs.RootId);
            if (root.Type != FsNodeType.Directory) Report(new FsProblem($"root (node {fs.RootId})", $"is a {root.Type}, not a directory"));
        }
        catch (VmdkMountException e)
        {
            Report(new FsProblem($"root directory (node {fs.RootId})", $"cannot be read: {e.Message}"));
            return new TreeCheckResult(problems, 0, 0, true, notListed);
        }

        while (pending.Count > 0)
        {
            cancel.ThrowIfCancellationRequested();
            var (id, path) = pending.Dequeue();
            directories++;
            string where = $"directory {path} (node {id})";
            bool listed = false;
            try
            {
                foreach (var entry in fs.List(id))
                {
                    if (++entries > maxEntries)
                    {
                        complete = false;
                        entries = maxEntries;
                        break;
                    }
                    string child = path == "/" ? "/" + entry.Name : path + "/" + entry.Name;
                    CheckEntry(fs, map, entry, child, pending, seen, Report);
                }
                listed = true;
            }
            catch (VmdkMountException e) when (e is not UnsupportedFeatureException)
            {
                Report(new FsProblem(where, $"cannot be listed (entries after the damage are not shown): {e.Message}"));
            }
            // A directory that cannot be listed is reported once, above; its entries are not asked about again.
            if (perDirectory is not null && listed)
            {
                try
                {
                    foreach (var p in perDirectory(id, path)) Report(p);
                }
                catch (VmdkMountException e)
                {
                    Report(new FsProblem(where, e.Message));
                }
            }
            entriesWalked?.Report(entries);
            if (!complete) break;
        }
        return new TreeCheckResult(problems, directories, entries, complete, notListed);
    }

    private static void CheckEntry(IFileSystem fs, IFileAllocationMap? map, FsDirEntry entry, string path,
        Queue<(long Id, string Path)> pending, HashSet<long> seen, Action<FsProblem> report)
    {
        var node = entry.Node;
        string where = $"{path} (node {node.Id})";
        try
        {
            switch (node.Type)
            {
                case FsNodeType.Directory:
                    if (seen.Add(node.Id)) pending.Enqueue((node.Id, path));
                    else report(new FsProblem($"directory {where}", "is reached a second time (a loop or a second parent); not entered again"));
                    break;
                case FsNodeType.Symlink:
                    if (fs is ISymlinkReader links) _ = links.ReadLink(node.Id);
                    break;
                case FsNodeType.File when map is not null && node.Size > 0:
                    int runs = 0;
                    foreach (var _ in map.AllocatedRanges(node.Id, 0, node.Size))
                        if (++runs >= MaxRunsPerFile) break;
                    break;
            }
        }
        catch (Exception e) when (e is FileReadException or UnsupportedFeatureException)
        {
            // Data the tool cannot produce by design (EFS, dedup placeholder, a feature not read): not damage.
        }
        catch (VmdkMountException e)
        {
            string what = node.Type switch { FsNodeType.Symlink => "link target", FsNodeType.File => "data map", _ => "entry" };
            report(new FsProblem(where, $"{what} cannot be read: {e.Message}"));
        }
    }
}
