using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// Opens a corrupted filesystem case through the reader, lists the tree (bounded), stats, looks up, reads links,
/// extended attributes and files, runs the reader's check and the tree check, and holds every file the corruption did
/// not touch to the intact image's bytes. Typed errors are outcomes; anything else is a finding.
/// </summary>
public static class FileSystemCaseRunner
{
    private const int MaxVisited = IntactTree.MaxEntries + 200;

    public static CaseResult Run(CorruptionCase c, IReadAt intact, IntactTree tree, string volumeName, Func<IReadAt, string, IFileSystem> open) =>
        BoundedRun.Run(c, () =>
        {
            var view = new CorruptedView(intact, c.Patches, c.TruncateTo);
            IFileSystem fs;
            try
            {
                fs = open(view, volumeName);
            }
            catch (VmdkMountException e)
            {
                return (CaseOutcome.CleanError, Named(e, volumeName), e.Message);
            }
            using (fs)
            {
                var (errors, finding, first) = Walk(fs, c, tree, volumeName);
                return (errors == 0 ? CaseOutcome.OpenedFine : CaseOutcome.PartiallyReadable, finding, first);
            }
        });

    /// <summary>A clear error names the volume it is about (the file a user would have to look at).</summary>
    internal static string? Named(VmdkMountException e, string volumeName) =>
        e.Message.Contains(volumeName, StringComparison.Ordinal) ? null : $"error does not name {volumeName}: {e.Message}";

    /// <param name="check">Also run the reader's check and the tree check (each problem reported once).</param>
    internal static (int Errors, string? Finding, string? First) Walk(IFileSystem fs, CorruptionCase c, IntactTree tree, string volumeName, bool check = true)
    {
        int errors = 0;
        string? finding = null, first = null;
        void Error(VmdkMountException e)
        {
            errors++;
            first ??= e.Message;
            finding ??= Named(e, volumeName);
        }

        var buffer = new byte[IntactTree.ReadCap];
        var pending = new Queue<(long Id, string Path)>();
        var entered = new HashSet<long>();
        pending.Enqueue((fs.RootId, "/"));
        int visited = 0;
        while (pending.Count > 0 && visited < MaxVisited)
        {
            var (dir, path) = pending.Dequeue();
            if (!entered.Add(dir)) continue;
            List<FsDirEntry> entries;
            try
            {
                entries = fs.List(dir).Take(MaxVisited).ToList();
                if (fs is IReportsUnshownEntries unshown) _ = unshown.UnshownEntries(dir);
            }
            catch (VmdkMountException e)
            {
                Error(e);
                continue;
            }
            foreach (var e in entries)
            {
                if (++visited > MaxVisited) break;
                string child = path == "/" ? "/" + e.Name : path + "/" + e.Name;
                tree.ByPath.TryGetValue(child, out var was);
                bool untouched = was is not null && !c.Touch.Covers(child);
                try
                {
                    _ = fs.Lookup(dir, e.Name);
                    var node = fs.Stat(e.Node.Id);
                    if (fs is IExtendedAttributes xattrs) _ = xattrs.ExtendedAttributes(node.Id);
                    switch (node.Type)
                    {
                        case FsNodeType.Directory:
                            pending.Enqueue((node.Id, child));
                            break;
                        case FsNodeType.Symlink when fs is ISymlinkReader links:
                            string target = links.ReadLink(node.Id);
                            // NTFS translates a link's target through the junctions on its way: a change to those is a change to it
                            if (untouched && was!.LinkTarget is not null && target != was.LinkTarget && !c.Touch.Covers(was.LinkTarget))
                                finding ??= $"wrong link target at {child} (untouched): '{target}', was '{was.LinkTarget}'";
                            break;
                        case FsNodeType.File:
                            string hash = IntactTree.HashStart(fs, node.Id, buffer);
                            if (fs is IFileAllocationMap map) _ = map.AllocatedRanges(node.Id, 0, node.Size).Take(4096).Count();
                            if (untouched && was!.Type == FsNodeType.File && was.Hash is not null && (hash != was.Hash || node.Size != was.Size))
                                finding ??= $"wrong bytes at {child} (untouched by the corruption): size {node.Size}, was {was.Size}";
                            break;
                    }
                }
                catch (FileReadException) when (was is { Unreadable: true })
                {
                }
                catch (VmdkMountException ex)
                {
                    Error(ex);
                }
            }
        }
        // Problems the check finds are what it is for: they do not make the volume less readable.
        if (check) finding ??= CheckReportsOnce(fs);
        return (errors, finding, first);
    }

    /// <summary>The reader's own check and the tree walk `check` runs: each problem reported once.</summary>
    private static string? CheckReportsOnce(IFileSystem fs)
    {
        var problems = new List<FsProblem>();
        try
        {
            if (fs is IFileSystemCheck check) problems.AddRange(check.Check(CancellationToken.None).Take(1000));
        }
        catch (VmdkMountException)
        {
            problems.Add(new FsProblem("check", "raised"));
        }
        var walk = FileSystemTreeCheck.Walk(fs, 2000, CancellationToken.None);
        problems.AddRange(walk.Problems);
        var twice = problems.GroupBy(p => p.ToString()).FirstOrDefault(g => g.Count() > 1);
        return twice is null ? null : $"check reported a problem {twice.Count()} times: {twice.Key}";
    }
}
