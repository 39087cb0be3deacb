using System.Collections.Concurrent;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.Mounting;

/// <summary>What a mount shows at its root.</summary>
public sealed record MountTreeOptions
{
    /// <summary>Show only this volume, directly at the root; null: one folder per mountable volume.</summary>
    public string? SingleVolume { get; init; }

    /// <summary>Add `disk.img` (the flattened disk) beside the volume folders.</summary>
    public bool RawImage { get; init; }

    /// <summary>How long handed-out nodes are kept (FUSE: until the kernel forgets them).</summary>
    public NodeRetention Retention { get; init; } = NodeRetention.LookupCounted;

    /// <summary>
    /// How often a volume folder whose filesystem could not be opened tries again when it is used: a parent file that
    /// was missing, cut short or unreadable (a copy still running, a share that dropped) may be back, and the mount
    /// should show the volume then without a remount; a volume that is simply damaged costs one open per interval.
    /// </summary>
    public TimeSpan UnreadableRetryInterval { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// The tree a mount shows, as inode numbers: the root (one folder per mountable volume, plus `disk.img` with
/// --raw, or one volume's root directly), and every filesystem node reached from it. Frontend-neutral: FUSE uses the
/// numbers as node ids, another frontend may use them as file indexes. Thread-safe; numbers are handed out on first
/// sight and never reused, and a (volume, filesystem node id) pair always gets the same number, so hard links
/// share one inode.
/// </summary>
public sealed partial class MountTree
{
    public const ulong RootIno = 1;
    public const string DiskImageName = "disk.img";

    private readonly ConcurrentDictionary<ulong, MountInode> _byIno = new();
    private readonly ConcurrentDictionary<(int Volume, long Id), MountInode> _byNode = new();
    // A symlink's answer depends on where it sits, so one reached by several names (hard links at different depths)
    // is one inode per place, never shared the way hard-linked files are.
    // A directory that a damaged volume links from a second parent gets an inode of its own there too, so that every
    // directory inode has exactly one place and a relative link below it climbs exactly as far as its path says.
    private readonly ConcurrentDictionary<(ulong Parent, string Name), MountInode> _symlinks = new();
    private readonly object _refGate = new();
    private readonly Lazy<IReadOnlyList<MountInode>> _rootChildren;
    // The root's children once a volume that could not be opened has opened on a retry (copy on write); null before.
    private volatile IReadOnlyList<MountInode>? _recoveredRootChildren;
    private readonly Lock _retryGate = new();
    private readonly Action<string> _log;
    private long _nextIno = (long)RootIno;
    private long _cachedEntries;

    /// <summary>Directory entries kept across all listings (about 40 bytes each beyond the inodes themselves).</summary>
    public const long MaxCachedEntries = 4_000_000;

    private readonly Func<Volume, IFileSystem> _openFileSystem;

    public MountTree(MountedDisk disk, MountTreeOptions options, Action<string>? log = null)
        : this(disk.Disk, disk.Layout.Volumes, v => disk.OpenFileSystem(v.Id), options, log)
    {
    }

    /// <summary>A tree over any disk, volume list and reader factory (tests use it with in-memory filesystems).</summary>
    public MountTree(IVirtualDisk disk, IReadOnlyList<Volume> volumes, Func<Volume, IFileSystem> openFileSystem,
        MountTreeOptions options, Action<string>? log = null)
    {
        Disk = disk;
        Volumes = volumes;
        _openFileSystem = openFileSystem;
        Options = options;
        _log = log ?? (_ => { });
        _rootChildren = new Lazy<IReadOnlyList<MountInode>>(BuildRootChildren, LazyThreadSafetyMode.ExecutionAndPublication);
        if (options.SingleVolume is { } id)
        {
            int index = IndexOf(id);
            var volume = volumes[index];
            if (!volume.Mountable)
                throw new UnsupportedFeatureException($"{disk.Source}:{id}", volume.Reason ?? "volume is not mountable");
            var fs = openFileSystem(volume);
            Root = new MountInode(RootIno, MountNodeKind.FsNode, null, "", index, id, fs, fs.Stat(fs.RootId));
            _byNode[(index, fs.RootId)] = Root;
        }
        else
        {
            Root = new MountInode(RootIno, MountNodeKind.Root, null, "", -1, null, null, null);
        }
        Root.Pinned = true;
        _byIno[RootIno] = Root;
    }

    /// <summary>The flattened disk (what disk.img shows).</summary>
    public IVirtualDisk Disk { get; }

    public IReadOnlyList<Volume> Volumes { get; }

    public MountTreeOptions Options { get; }

    public MountInode Root { get; }

    /// <summary>Nodes handed out so far.</summary>
    public int Count => _byIno.Count;

    public bool TryGet(ulong ino, out MountInode inode) => _byIno.TryGetValue(ino, out inode!);

    /// <summary>
    /// The frontend is handing <paramref name="inode"/> to the kernel (a lookup reply, a readdirplus entry): count it,
    /// and know it again if the kernel had forgotten it (a cached listing can hand out a forgotten node).
    /// </summary>
    public void Referenced(MountInode inode)
    {
        if (inode.Pinned) return;
        lock (_refGate)
        {
            Options.Retention.Retain(inode);
            if (_byIno.TryAdd(inode.Ino, inode) && inode.Kind == MountNodeKind.FsNode)
            {
                if (IsSymlink(inode)) _symlinks.TryAdd((inode.Parent!.Ino, inode.Name), inode);
                else _byNode.TryAdd((inode.VolumeIndex, inode.Node!.Id), inode);
            }
        }
    }

    /// <summary>
    /// The frontend dropped <paramref name="nlookup"/> references (FUSE FORGET). A node the retention policy lets go
    /// leaves the tree, so a scan of millions of files does not keep them all; a later lookup makes it anew.
    /// </summary>
    public void Forget(ulong ino, ulong nlookup)
    {
        lock (_refGate)
        {
            if (!_byIno.TryGetValue(ino, out var inode) || inode.Pinned) return;
            if (!Options.Retention.Release(inode, nlookup)) return;
            Drop(inode);
        }
    }

    /// <summary>
    /// The walker has taken what it needs from <paramref name="dir"/>'s listing (it holds the entries it still has to
    /// visit). Under <see cref="NodeRetention.UntilPassed"/> the tree lets go of the listing and of the children made
    /// for it, so memory follows the walker's stack, not the size of the tree; a later lookup makes them anew (with new
    /// numbers, which a path walker never shows). Pinned nodes stay. Other policies ignore this.
    /// </summary>
    public void Passed(MountInode dir)
    {
        if (!Options.Retention.LetsGoOfPassed) return;
        lock (_refGate)
        {
            var children = Interlocked.Exchange(ref dir.Children, null);
            if (children is null) return;
            Interlocked.Add(ref _cachedEntries, -children.Count);
            foreach (var (_, child) in children)
            {
                // Only nodes made for this place: a hard link first seen elsewhere keeps its first parent.
                if (child.Pinned || !ReferenceEquals(child.Parent, dir)) continue;
                Drop(child);
            }
        }
    }

    private void Drop(MountInode inode)
    {
        _byIno.TryRemove(new KeyValuePair<ulong, MountInode>(inode.Ino, inode));
        if (inode.Kind != MountNodeKind.FsNode) return;
        if (IsSymlink(inode))
            _symlinks.TryRemove(new KeyValuePair<(ulong, string), MountInode>((inode.Parent!.Ino, inode.Name), inode));
        else
            _byNode.TryRemove(new KeyValuePair<(int, long), MountInode>((inode.VolumeIndex, inode.Node!.Id), inode));
    }

    /// <summary>The child called <paramref name="name"/>, or null when there is none (or the parent is no directory).</summary>
    public MountInode? Lookup(MountInode parent, string name)
    {
        switch (parent.Kind)
        {
            case MountNodeKind.Root:
                foreach (var child in RootChildren())
                    if (string.Equals(child.Name, name, StringComparison.Ordinal)) return child;
                return null;
            case MountNodeKind.FsNode when parent.Node!.Type == FsNodeType.Directory:
                var node = parent.FileSystem!.Lookup(parent.Node.Id, name);
                return node is null ? null : Intern(parent, name, node);
            case MountNodeKind.PointFolder:
                foreach (var child in PointChildren(parent))
                    if (string.Equals(child.Name, name, StringComparison.Ordinal)) return child;
                return null;
            case MountNodeKind.UnreadableVolume:
                if (Retry(parent) is { Kind: MountNodeKind.FsNode } opened) return Lookup(opened, name);
                throw new FileReadException(DisplayPath(parent), parent.Error ?? "volume cannot be read");
            default:
                return null;
        }
    }

    /// <summary>
    /// Every entry of a directory (without `.` and `..`), with the name it has there. Listings are kept (nothing
    /// changes), up to <see cref="MaxCachedEntries"/> entries in all: reopening a folder then costs the reader nothing,
    /// which matters when its own caches are smaller than the tree being walked.
    /// </summary>
    public IReadOnlyList<(string Name, MountInode Inode)> List(MountInode dir)
    {
        if (Volatile.Read(ref dir.Children) is { } cached) return cached;
        var result = new List<(string, MountInode)>();
        switch (dir.Kind)
        {
            case MountNodeKind.Root:
                // Not kept: an unreadable volume's folder is replaced by the volume once it opens.
                foreach (var child in RootChildren()) result.Add((child.Name, child));
                return result;
            case MountNodeKind.PointFolder:
                foreach (var child in PointChildren(dir)) result.Add((child.Name, child));
                break;
            case MountNodeKind.FsNode when dir.Node!.Type == FsNodeType.Directory:
                foreach (var entry in dir.FileSystem!.List(dir.Node.Id))
                    result.Add((entry.Name, Intern(dir, entry.Name, entry.Node)));
                break;
            case MountNodeKind.UnreadableVolume:
                if (Retry(dir) is { Kind: MountNodeKind.FsNode } opened) return List(opened);
                throw new FileReadException(DisplayPath(dir), dir.Error ?? "volume cannot be read");
        }
        // A walker that passes folders always gets the listing recorded: Passed needs it to know what to let go of,
        // and the walker holds those entries anyway until then.
        if (Interlocked.Add(ref _cachedEntries, result.Count) <= MaxCachedEntries || Options.Retention.LetsGoOfPassed)
            Volatile.Write(ref dir.Children, result);
        else Interlocked.Add(ref _cachedEntries, -result.Count);
        return result;
    }

    /// <summary>
    /// A symlink's target as it must appear under <paramref name="mountRoot"/> (the absolute path where the mount root
    /// is), confined by <see cref="Mounting.LinkTarget"/> from this link's own place (its parent chain), so no text in
    /// the image, `..` or a separator, leads outside the mount: absolute targets become absolute paths inside the
    /// mount; relative ones stay relative, climbing at most to the volume root (every directory inode has one place,
    /// so the kernel's `..` walk is the path's).
    /// </summary>
    public string LinkTarget(MountInode link, string mountRoot)
    {
        if (link.Kind != MountNodeKind.FsNode || link.Node!.Type != FsNodeType.Symlink)
            throw new ContractViolationException($"{DisplayPath(link)} is not a symbolic link");
        string target = link.FileSystem is ISymlinkReader links ? links.ReadLink(link.Node.Id)
            : throw MissingCapability.NoSymlinks(link.FileSystem!, link.Node.Id);
        var directory = DirectoryComponents(link.Parent);
        if (!target.StartsWith('/')) return Mounting.LinkTarget.RelativeKeepingSafeText(target, directory);
        string inVolume = Mounting.LinkTarget.VolumeAbsolute(target, directory);
        string volumeRoot = Options.SingleVolume is null ? mountRoot.TrimEnd('/') + "/" + link.VolumeId : mountRoot.TrimEnd('/');
        return inVolume == "/" ? (volumeRoot.Length == 0 ? "/" : volumeRoot) : volumeRoot + inVolume;
    }

    /// <summary>The names from the volume root down to <paramref name="dir"/> (bounded walk up the parent chain).</summary>
    public static IReadOnlyList<string> DirectoryComponents(MountInode? dir)
    {
        var names = new List<string>();
        var current = dir;
        for (int depth = 0; current is not null && depth < Mounting.LinkTarget.MaxComponents; depth++, current = current.Parent)
        {
            if (current.Kind != MountNodeKind.FsNode || current.Parent is null || current.Parent.VolumeIndex != current.VolumeIndex) break;
            names.Add(current.Name);
        }
        names.Reverse();
        return names;
    }

    private static bool IsSymlink(MountInode inode) => inode.PerPlace && inode.Parent is not null;

    /// <summary>`p2:/dir/file` for messages; `disk.img` or `/` for the virtual nodes. Bounded walk up the first-seen names.</summary>
    public string DisplayPath(MountInode inode)
    {
        if (inode.Kind == MountNodeKind.Root) return "/";
        if (inode.Kind == MountNodeKind.DiskImage) return DiskImageName;
        var names = new Stack<string>();
        var current = inode;
        for (int depth = 0; current is not null && depth < 4096; depth++, current = current.Parent)
        {
            if (current.Kind != MountNodeKind.FsNode || current.Parent is null || current.Parent.VolumeIndex != current.VolumeIndex) break;
            names.Push(current.Name);
        }
        return $"{inode.VolumeId}:/{string.Join('/', names)}";
    }

    private MountInode Intern(MountInode parent, string name, FsNode node)
    {
        if (node.Type == FsNodeType.Symlink || (node.Type == FsNodeType.Directory && IsPlacedElsewhere(parent, node)))
        {
            var placeKey = (parent.Ino, name);
            if (_symlinks.TryGetValue(placeKey, out var placed)) return placed;
            var link = new MountInode(NextIno(), MountNodeKind.FsNode, parent, name, parent.VolumeIndex, parent.VolumeId, parent.FileSystem, node) { PerPlace = true };
            var won = _symlinks.GetOrAdd(placeKey, link);
            if (ReferenceEquals(won, link)) _byIno[link.Ino] = link;
            return won;
        }
        var key = (parent.VolumeIndex, node.Id);
        if (_byNode.TryGetValue(key, out var known)) return known;
        var created = new MountInode(NextIno(), MountNodeKind.FsNode, parent, name, parent.VolumeIndex, parent.VolumeId, parent.FileSystem, node);
        var winner = _byNode.GetOrAdd(key, created);
        if (ReferenceEquals(winner, created)) _byIno[created.Ino] = created;
        return winner;
    }

    /// <summary>
    /// True when the directory already has an inode under another parent and is not its own ancestor here (a loop keeps
    /// the one inode, which the kernel refuses to place inside itself).
    /// </summary>
    private bool IsPlacedElsewhere(MountInode parent, FsNode node)
    {
        if (!_byNode.TryGetValue((parent.VolumeIndex, node.Id), out var known) || ReferenceEquals(known.Parent, parent)) return false;
        var current = parent;
        for (int depth = 0; current is not null && depth < Mounting.LinkTarget.MaxComponents; depth++, current = current.Parent)
            if (current.Kind == MountNodeKind.FsNode && current.VolumeIndex == parent.VolumeIndex && current.Node!.Id == node.Id) return false;
        return true;
    }

    private ulong NextIno() => (ulong)Interlocked.Increment(ref _nextIno);

    private int IndexOf(string volumeId)
    {
        for (int i = 0; i < Volumes.Count; i++)
            if (Volumes[i].Id == volumeId) return i;
        var ids = string.Join(", ", Volumes.Select(v => v.Id));
        throw new SourceUnavailableException($"{Disk.Source}:{volumeId}", $"no such volume (volumes: {ids})");
    }

    /// <summary>The root's children, each unreadable volume tried again first when its interval has passed.</summary>
    private IReadOnlyList<MountInode> RootChildren()
    {
        var children = _recoveredRootChildren ?? _rootChildren.Value;
        foreach (var child in children)
            if (child.Kind == MountNodeKind.UnreadableVolume && child.Parent == Root) Retry(child);
        return _recoveredRootChildren ?? children;
    }

    /// <summary>
    /// Opens an unreadable volume's filesystem again, at most once per <see cref="MountTreeOptions.UnreadableRetryInterval"/>. On
    /// success the volume's folder becomes the volume's root directory under the same inode number (the kernel's
    /// cached entry stays right) and the node to use is returned; otherwise <paramref name="unreadable"/>.
    /// </summary>
    public MountInode Retry(MountInode unreadable)
    {
        if (unreadable.Kind != MountNodeKind.UnreadableVolume || unreadable.Parent != Root) return unreadable;
        lock (_retryGate)
        {
            if (_byIno.TryGetValue(unreadable.Ino, out var current) && current != unreadable) return current;
            long now = Environment.TickCount64;
            if (now < unreadable.NextRetry) return unreadable;
            unreadable.NextRetry = now + (long)Options.UnreadableRetryInterval.TotalMilliseconds;
            var volume = Volumes[unreadable.VolumeIndex];
            MountInode opened;
            try
            {
                var fs = _openFileSystem(volume);
                opened = new MountInode(unreadable.Ino, MountNodeKind.FsNode, Root, unreadable.Name, unreadable.VolumeIndex,
                    unreadable.VolumeId, fs, fs.Stat(fs.RootId)) { Pinned = true };
            }
            catch (VmdkMountException)
            {
                return unreadable;
            }
            _byNode[(opened.VolumeIndex, opened.Node!.Id)] = opened;
            _byIno[opened.Ino] = opened;
            var children = (_recoveredRootChildren ?? _rootChildren.Value).ToArray();
            for (int i = 0; i < children.Length; i++)
                if (children[i] == unreadable) children[i] = opened;
            _recoveredRootChildren = children;
            _log($"{volume.Id}: the {volume.FileSystem} filesystem opens now; the volume is shown");
            return opened;
        }
    }

    private IReadOnlyList<MountInode> BuildRootChildren()
    {
        if (_points is not null) return BuildPointFolders();
        var children = new List<MountInode>();
        for (int i = 0; i < Volumes.Count; i++)
        {
            var volume = Volumes[i];
            if (!volume.Mountable) continue;
            MountInode child;
            try
            {
                var fs = _openFileSystem(volume);
                var node = fs.Stat(fs.RootId);
                child = new MountInode(NextIno(), MountNodeKind.FsNode, Root, volume.Id, i, volume.Id, fs, node);
                _byNode[(i, fs.RootId)] = child;
            }
            catch (VmdkMountException e)
            {
                _log($"{volume.Id}: cannot open the {volume.FileSystem} filesystem: {e.Message}");
                child = new MountInode(NextIno(), MountNodeKind.UnreadableVolume, Root, volume.Id, i, volume.Id, null, null, e.Message)
                {
                    NextRetry = Environment.TickCount64 + (long)Options.UnreadableRetryInterval.TotalMilliseconds,
                };
            }
            child.Pinned = true;
            _byIno[child.Ino] = child;
            children.Add(child);
        }
        if (Options.RawImage)
        {
            var image = new MountInode(NextIno(), MountNodeKind.DiskImage, Root, DiskImageName, -1, null, null, null);
            image.Pinned = true;
            _byIno[image.Ino] = image;
            children.Add(image);
        }
        return children;
    }
}
