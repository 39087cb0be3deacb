using System.Buffers;
using Microsoft.Win32.SafeHandles;
using VmdkMount.Cli.Restore.Native;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;

namespace VmdkMount.Cli.Restore;

/// <summary>
/// File-level restore: copies a file or a whole tree out of a volume onto the host, keeping timestamps, symlinks and
/// hard links, writing sparse (holes from the reader's allocation map, and all-zero chunks, are skipped). One file
/// failing is reported and the rest continues. Every write goes through <see cref="DestinationTree"/>, so nothing is
/// written outside DEST, a file that fails or is interrupted is removed, and a file that replaces one already there is
/// written under a temporary name and renamed over it when complete (the old one stays whole until then). Symlinks are rewritten to resolve
/// inside the copy (<see cref="LinkTarget.RelativeWithin"/>) unless <see cref="KeepLinkTargets"/>.
/// Cancelling <see cref="Cancel"/> stops at the next chunk: the file being written is removed, the rest stays.
/// The tree is walked through the mount model (<see cref="MountTree"/>), as a mount shows it; each folder is passed
/// (<see cref="MountTree.Passed"/>) once its entries are on the stack, so a restore of any size holds only that stack.
/// </summary>
internal sealed class TreeExtractor(MountTree tree, string volume, ChainFileSet? chain = null)
{
    private const int ChunkSize = 1 << 20;
    /// <summary>Directories kept open only so later hard links can be made from them; past this, links are copied.</summary>
    private const int MaxRetainedForLinks = 256;
    /// <summary>
    /// Test hook: a pause before each chunk, so that a test can interrupt a copy mid-file on any machine. Read once;
    /// unset (the normal case) costs nothing.
    /// </summary>
    private static readonly int ChunkDelayMs =
        int.TryParse(Environment.GetEnvironmentVariable("VMDKMOUNT_TEST_CHUNK_DELAY_MS"), out int ms) ? Math.Clamp(ms, 0, 1000) : 0;

    private DestinationTree _tree = new(chain ?? ChainFileSet.None);
    private readonly Dictionary<long, (DestinationDirectory Dir, string Name, PosixAt.EntryStat Id)> _extractedLinks = new();

    public long BytesDone { get; private set; }
    /// <summary>Bytes of the files already complete under their final names.</summary>
    public long BytesRestored { get; private set; }
    public long FilesDone { get; private set; }
    public int Failures { get; private set; }

    /// <summary>Folders made (or merged into).</summary>
    public long DirectoriesDone { get; private set; }

    /// <summary>Entries left out because something was already at their place (<see cref="NoClobber"/>).</summary>
    public long Skipped { get; private set; }

    /// <summary>-n: an entry already at DEST is kept and the restored one skipped; folders are merged into.</summary>
    public bool NoClobber
    {
        get => _tree.NoClobber;
        init => _tree = new DestinationTree(chain ?? ChainFileSet.None) { NoClobber = value };
    }

    /// <summary>-v: each entry restored (or skipped), as `cp -v` names it, to this writer.</summary>
    public TextWriter? Verbose { get; init; }

    /// <summary>Write each symlink's text as stored (may point outside DEST).</summary>
    public bool KeepLinkTargets { get; init; }

    public CancellationToken Cancel { get; init; }

    /// <summary>Called after each item.</summary>
    public Action? Progress { get; set; }

    private readonly record struct Pending(MountInode Inode, string Source, DestinationDirectory Parent, string Name);

    /// <summary>Counts files and bytes below a node, for the progress bar.</summary>
    public (long Files, long Bytes) Measure(MountInode root)
    {
        long files = 0, bytes = 0;
        var pending = new Stack<MountInode>();
        var visited = new HashSet<long>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var inode = pending.Pop();
            var node = inode.Node!;
            if (node.Type == FsNodeType.Directory && !visited.Add(node.Id)) continue;
            if (node.Type != FsNodeType.Directory)
            {
                files++;
                if (node.Type == FsNodeType.File) bytes += node.Size;
                continue;
            }
            try
            {
                foreach (var (_, child) in tree.List(inode)) pending.Push(child);
                tree.Passed(inode);
            }
            catch (VmdkMountException)
            {
                // reported, properly, when the extraction reaches it
            }
        }
        return (files, bytes);
    }

    /// <summary>
    /// Restores <paramref name="root"/> as <paramref name="destination"/>, or, with <paramref name="nameInside"/>, as
    /// that name inside the existing directory <paramref name="destination"/> (the `cp -r` rule, decided by the caller).
    /// A directory root whose destination is an existing directory is merged into it. The user-named path is opened
    /// following links; everything below it is made without following any.
    /// </summary>
    public void Extract(MountInode root, string sourcePath, string destination, string? nameInside = null)
    {
        PosixAt.ThrowIfNotLinux();
        string full = Path.GetFullPath(destination);
        DestinationDirectory parent;
        string name;
        int? mergedRoot = null;
        if (nameInside is not null)
        {
            parent = DestinationTree.OpenUserDirectory(full);
            name = nameInside;
        }
        else if (root.IsDirectory && Directory.Exists(full))
        {
            parent = DestinationTree.OpenUserDirectory(Path.GetDirectoryName(full) ?? full);
            var user = DestinationTree.OpenUserDirectory(full);
            mergedRoot = user.Fd;
            name = Path.GetFileName(full);
        }
        else
        {
            string folder = Path.GetDirectoryName(full) ?? throw new ArgumentException($"{destination}: not a place to restore to");
            Directory.CreateDirectory(folder);
            parent = DestinationTree.OpenUserDirectory(folder);
            name = Path.GetFileName(full);
        }
        if (!IsSafeName(name) && mergedRoot is null) throw new ArgumentException($"{destination}: not a place to restore to");

        var sourceParts = Components(sourcePath);
        int copyRootDepth = root.IsDirectory ? sourceParts.Count : Math.Max(0, sourceParts.Count - 1);
        var pending = new Stack<Pending>();
        var visited = new HashSet<long>();
        pending.Push(new Pending(root, sourcePath, parent, name));
        Pending current = default;
        try
        {
            while (pending.Count > 0)
            {
                Cancel.ThrowIfCancellationRequested();
                current = pending.Pop();
                try
                {
                    ExtractOne(current, pending, visited, copyRootDepth, ref mergedRoot);
                }
                catch (Exception e) when (e is VmdkMountException or IOException or UnauthorizedAccessException)
                {
                    Fail($"{volume}:{current.Source}", e.Message);
                }
                current.Parent.Release();
                current = default;
                Progress?.Invoke();
            }
            foreach (var link in _extractedLinks.Values) link.Dir.Release();
            _extractedLinks.Clear();
        }
        catch
        {
            // Interrupted or failed as a whole: close what is open without touching anything more.
            current.Parent?.Abandon();
            foreach (var p in pending) p.Parent.Abandon();
            foreach (var link in _extractedLinks.Values) link.Dir.Abandon();
            _extractedLinks.Clear();
            if (mergedRoot is { } fd) PosixAt.Close(fd);
            throw;
        }
    }

    private void ExtractOne(Pending item, Stack<Pending> pending, HashSet<long> visited, int copyRootDepth, ref int? mergedRoot)
    {
        var (inode, source, parent, name) = item;
        var node = inode.Node!;
        if (NoClobber && node.Type is FsNodeType.File or FsNodeType.Symlink && DestinationTree.Exists(parent, name))
        {
            Skip(source, parent.Child(name));
            return;
        }
        switch (node.Type)
        {
            case FsNodeType.Directory:
                if (!visited.Add(node.Id))
                {
                    Fail($"{volume}:{source}", "directory already restored under another path (a loop in a damaged volume); not descending");
                    return;
                }
                int fd;
                if (mergedRoot is { } merged) { fd = merged; mergedRoot = null; }
                else if (NoClobber && DestinationTree.Exists(parent, name) && !DestinationTree.IsDirectory(parent, name))
                {
                    Skip(source, parent.Child(name));
                    return;
                }
                else fd = _tree.MakeDirectory(parent, name);
                var dir = new DestinationDirectory(fd, parent.Child(name), node,
                    path => Console.Error.WriteLine($"vmdkmount: {path}: timestamps not kept"));
                DirectoriesDone++;
                Verbose?.WriteLine($"{TerminalText.ForDiagnostic($"{volume}:{source}")} -> {TerminalText.ForDiagnostic(parent.Child(name))}");
                try
                {
                    foreach (var (childName, child) in tree.List(inode))
                    {
                        if (!IsSafeName(childName))
                        {
                            Fail($"{volume}:{source}/{childName}", "unsafe file name, not restored");
                            continue;
                        }
                        pending.Push(new Pending(child, source.TrimEnd('/') + "/" + childName, dir.Retain(), childName));
                    }
                    tree.Passed(inode);
                }
                finally
                {
                    dir.Release();
                }
                break;
            case FsNodeType.File:
                if (!ExtractFile(inode, parent, name))
                {
                    Skip(source, parent.Child(name));
                    return;
                }
                Verbose?.WriteLine($"{TerminalText.ForDiagnostic($"{volume}:{source}")} -> {TerminalText.ForDiagnostic(parent.Child(name))}");
                break;
            case FsNodeType.Symlink:
                if (!_tree.MakeSymlink(parent, name, LinkText(inode, source, copyRootDepth), node))
                {
                    Skip(source, parent.Child(name));
                    return;
                }
                FilesDone++;
                Verbose?.WriteLine($"{TerminalText.ForDiagnostic($"{volume}:{source}")} -> {TerminalText.ForDiagnostic(parent.Child(name))}");
                break;
            default:
                Console.Error.WriteLine($"vmdkmount: {volume}:{source}: {NodeFormat.TypeWord(node.Type)} not restored (only files, directories and symlinks are)");
                break;
        }
    }

    /// <summary>The link's text rewritten relative to its place in the copy, so that it resolves inside it.</summary>
    private string LinkText(MountInode inode, string source, int copyRootDepth)
    {
        var fs = inode.FileSystem!;
        string raw = fs is ISymlinkReader links ? links.ReadLink(inode.Node!.Id) : throw MissingCapability.NoSymlinks(fs, inode.Node!.Id);
        if (KeepLinkTargets) return raw;
        var parts = Components(source);
        var linkDirectory = parts.GetRange(0, Math.Max(0, parts.Count - 1));
        return LinkTarget.RelativeWithin(raw, linkDirectory, linkDirectory.Count - copyRootDepth);
    }

    /// <summary>False when <see cref="NoClobber"/> kept an entry that appeared at the name meanwhile.</summary>
    private bool ExtractFile(MountInode inode, DestinationDirectory parent, string name)
    {
        var node = inode.Node!;
        if (node.Links > 1 && _extractedLinks.TryGetValue(node.Id, out var first)
            && _tree.TryHardLink(first.Dir, first.Name, first.Id, parent, name))
        {
            FilesDone++;
            BytesDone += node.Size;
            return true;
        }
        var (fd, temp) = _tree.CreateFile(parent, name);
        if (fd < 0) return false;
        try
        {
            PosixAt.EntryStat id = default;
            using (var output = new SafeFileHandle(fd, ownsHandle: true))
            {
                CopyData(inode, output);
                Timestamps.ApplyToFd(fd, node);
                if (node.Links > 1) id = PosixAt.StatFd(fd);
            }
            if (temp is not null && !_tree.Commit(parent, temp, name)) return false;
            if (node.Links > 1 && _extractedLinks.Count < MaxRetainedForLinks && !_extractedLinks.ContainsKey(node.Id))
                _extractedLinks[node.Id] = (parent.Retain(), name, id);
            FilesDone++;
            BytesRestored += node.Size;
            return true;
        }
        catch
        {
            // A half-written file must not pass for a restored one; whatever was there before stays.
            if (temp is null) DestinationTree.RemoveCreated(parent, name);
            else DestinationTree.RemoveTemporary(parent, temp);
            throw;
        }
    }

    /// <summary>
    /// Copies only the ranges the reader says may hold data (all of it without an allocation
    /// map), with positional writes, leaving a hole for every all-zero <see cref="ChunkSize"/> chunk. Work is
    /// proportional to the allocated data, not the file's size; the length is set at the end (a trailing hole).
    /// (Reading the next chunk on another thread while writing was tried: on a 1 GiB file it saved ~0.02 s of 0.48
    /// and cost ~0.17 s more CPU, since writing the copy, not reading the image, is where the time goes.)
    /// </summary>
    private void CopyData(MountInode inode, SafeFileHandle output)
    {
        var node = inode.Node!;
        long counted = 0, written = 0;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            foreach (var (start, length) in tree.AllocatedRanges(inode, 0, node.Size))
            {
                long end = Math.Min(node.Size, start + length);
                for (long offset = start; offset < end;)
                {
                    if (ChunkDelayMs > 0) Cancel.WaitHandle.WaitOne(ChunkDelayMs);
                    Cancel.ThrowIfCancellationRequested();
                    int want = (int)Math.Min(ChunkSize, end - offset);
                    int n = tree.Read(inode, offset, buffer.AsSpan(0, want));
                    if (n <= 0) break;
                    var chunk = buffer.AsSpan(0, n);
                    if (chunk.IndexOfAnyExcept((byte)0) >= 0) // else leave a hole
                    {
                        RandomAccess.Write(output, chunk, offset);
                        written = Math.Max(written, offset + n);
                    }
                    offset += n;
                    BytesDone += n;
                    counted += n;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        BytesDone += node.Size - counted; // the holes, for the progress bar
        // The length last: extending writes into a file of full length first measured slower on tmpfs. Only when
        // the data did not reach it (a trailing hole): XFS logs the inode even for a truncate to its own size.
        if (written != node.Size) RandomAccess.SetLength(output, node.Size);
    }

    private static List<string> Components(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries).ToList();

    /// <summary>A name from a damaged volume must not climb out of the destination.</summary>
    private static bool IsSafeName(string name) =>
        name.Length > 0 && name != "." && name != ".." && name.IndexOfAny(['/', '\0']) < 0;

    private void Skip(string source, string destination)
    {
        Skipped++;
        Verbose?.WriteLine($"skipped {TerminalText.ForDiagnostic($"{volume}:{source}")}: {TerminalText.ForDiagnostic(destination)} exists (--no-clobber)");
    }

    private void Fail(string what, string why)
    {
        Failures++;
        Console.Error.WriteLine($"vmdkmount: {what}: {why}");
    }
}
