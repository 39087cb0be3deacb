using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Transports;

namespace VmdkMount.Fuzz.Harnesses;

/// <summary>
/// What a mount or `extract` does with a volume, bounded so that one input runs in milliseconds: probe, open, then a
/// breadth-first walk (a queue, never recursion) of at most <see cref="MaxNodes"/> entries that stats, looks up, reads
/// the first bytes of, lists the streams, link target, extended attributes and allocated ranges of each, then the
/// reader's own check. A typed error ends the step it came from; any other exception escapes as a finding.
/// </summary>
public static class FileSystemWalk
{
    public const int MaxNodes = 256;

    /// <summary>Entries the last walk on this thread visited: proof that a seed reaches past the boot sector.</summary>
    [ThreadStatic] public static int LastNodes;
    private const int MaxDirectories = 64, MaxReadPerFile = 16 * 1024, MaxStreams = 8, MaxCheckProblems = 64;

    /// <param name="kinds">the reader family the harness targets (the first is used when the probe says otherwise)</param>
    /// <param name="readPerFile">bytes read at the start of each file (the seeds read less: file data is not what they are for)</param>
    /// <param name="check">whether the reader's own check runs after the walk</param>
    /// <param name="maxNodes">entries visited at most (the seeds visit fewer, so that they stay small)</param>
    public static void Run(IReadAt volume, string[] kinds, int readPerFile = MaxReadPerFile, bool check = true, int maxNodes = MaxNodes)
    {
        LastNodes = 0;
        string kind = kinds[0];
        ExpectedErrors.Tolerate(() =>
        {
            var probe = FormatRegistry.Default.Probe(volume);
            if (kinds.Contains(probe.FileSystem)) kind = probe.FileSystem;
        });
        IFileSystem fs;
        try
        {
            fs = FormatRegistry.Default.Open(kind, volume, "fuzz");
        }
        catch (Exception e) when (ExpectedErrors.IsExpected(e))
        {
            return;
        }
        using (fs)
        {
            Walk(fs, Math.Clamp(readPerFile, 1, MaxReadPerFile), Math.Clamp(maxNodes, 1, MaxNodes));
            if (check && fs is IFileSystemCheck checker)
                ExpectedErrors.Tolerate(() =>
                {
                    using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
                    _ = checker.Check(cancel.Token).Take(MaxCheckProblems).Count();
                });
        }
    }

    private static void Walk(IFileSystem fs, int readPerFile, int maxNodes)
    {
        var buffer = new byte[readPerFile];
        var directories = new Queue<long>();
        directories.Enqueue(fs.RootId);
        var seen = new HashSet<long> { fs.RootId };
        int nodes = 0, listed = 0;
        ExpectedErrors.Tolerate(() => fs.Stat(fs.RootId));
        while (directories.Count > 0 && listed++ < MaxDirectories && nodes < maxNodes)
        {
            long dir = directories.Dequeue();
            var entries = new List<FsDirEntry>();
            ExpectedErrors.Tolerate(() =>
            {
                foreach (var e in fs.List(dir))
                {
                    entries.Add(e);
                    if (entries.Count + nodes >= maxNodes) break;
                }
            });
            foreach (var entry in entries)
            {
                nodes++;
                LastNodes = nodes;
                var node = entry.Node;
                ExpectedErrors.Tolerate(() => fs.Lookup(dir, entry.Name));
                ExpectedErrors.Tolerate(() => fs.Stat(node.Id));
                Visit(fs, node, buffer);
                if (node.Type == FsNodeType.Directory && seen.Add(node.Id)) directories.Enqueue(node.Id);
            }
        }
        ExpectedErrors.Tolerate(() => fs.Lookup(fs.RootId, "no-such-name-in-any-volume"));
    }

    private static void Visit(IFileSystem fs, FsNode node, byte[] buffer)
    {
        if (node.Type == FsNodeType.File)
        {
            ExpectedErrors.Tolerate(() => fs.Read(node.Id, 0, buffer));
            // the tail: the last extent, grain or cluster of the file is often reached by another path than the first
            if (node.Size > buffer.Length)
                ExpectedErrors.Tolerate(() => fs.Read(node.Id, node.Size - buffer.Length, buffer));
            if (fs is IFileAllocationMap map)
                ExpectedErrors.Tolerate(() => _ = map.AllocatedRanges(node.Id, 0, Math.Max(0, node.Size)).Take(1024).Count());
        }
        if (node.Type == FsNodeType.Symlink && fs is ISymlinkReader links)
            ExpectedErrors.Tolerate(() => links.ReadLink(node.Id));
        if (fs is INamedStreams streams)
            ExpectedErrors.Tolerate(() =>
            {
                foreach (var s in streams.ListStreams(node.Id).Take(MaxStreams))
                    ExpectedErrors.Tolerate(() => streams.ReadStream(node.Id, s.Name, 0, buffer));
            });
        if (fs is IExtendedAttributes xattrs)
            ExpectedErrors.Tolerate(() => xattrs.ExtendedAttributes(node.Id));
    }
}
