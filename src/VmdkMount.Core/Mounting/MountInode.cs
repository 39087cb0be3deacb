using VmdkMount.Core.FileSystems;

namespace VmdkMount.Core.Mounting;

public enum MountNodeKind
{
    /// <summary>The mount root when it holds one folder per volume.</summary>
    Root,
    /// <summary>A node of a volume's filesystem (a volume's root folder is one too).</summary>
    FsNode,
    /// <summary>`disk.img`: the flattened disk as one read-only file.</summary>
    DiskImage,
    /// <summary>A mountable volume whose filesystem could not be opened: an empty folder whose reads fail.</summary>
    UnreadableVolume,
    /// <summary>One restore point's folder in a `--restore-points` mount: it holds that point's volume folders.</summary>
    PointFolder,
}

/// <summary>
/// One node as a frontend sees it, with a frontend inode number that is stable for the life of the mount.
/// A filesystem node reached by several names (a hard link) is one <see cref="MountInode"/>; its
/// <see cref="Name"/> and <see cref="Parent"/> are those of the first name seen (used in messages only).
/// Nodes never change (backups are immutable), so <see cref="Node"/> is kept as first read.
/// </summary>
public sealed class MountInode
{
    internal MountInode(ulong ino, MountNodeKind kind, MountInode? parent, string name, int volumeIndex,
        string? volumeId, IFileSystem? fileSystem, FsNode? node, string? error = null)
    {
        Ino = ino;
        Kind = kind;
        Parent = parent;
        Name = name;
        VolumeIndex = volumeIndex;
        VolumeId = volumeId;
        FileSystem = fileSystem;
        Node = node;
        Error = error;
    }

    public ulong Ino { get; }

    public MountNodeKind Kind { get; }

    public MountInode? Parent { get; }

    public string Name { get; }

    /// <summary>Index into the disk's volume list; -1 for the root and disk.img.</summary>
    public int VolumeIndex { get; }

    public string? VolumeId { get; }

    /// <summary>The reader of the volume this node lives on (null for the root, disk.img, an unreadable volume).</summary>
    public IFileSystem? FileSystem { get; }

    /// <summary>The filesystem node (null unless <see cref="Kind"/> is <see cref="MountNodeKind.FsNode"/>).</summary>
    public FsNode? Node { get; }

    /// <summary>Why an <see cref="MountNodeKind.UnreadableVolume"/> cannot be read.</summary>
    public string? Error { get; }

    /// <summary>How many times the frontend handed this node to the kernel and the kernel has not forgotten it yet.</summary>
    internal ulong LookupCount;

    /// <summary>For an <see cref="MountNodeKind.UnreadableVolume"/>: when (Environment.TickCount64) to try opening it again.</summary>
    internal long NextRetry;

    /// <summary>The root, the volume folders and disk.img stay known for the whole mount.</summary>
    internal bool Pinned;

    /// <summary>Known by its place (parent, name) rather than its node: symlinks, and directories reached a second time.</summary>
    internal bool PerPlace;

    /// <summary>The directory's entries once listed (see <see cref="MountTree.List"/>); null until then or when over budget.</summary>
    internal IReadOnlyList<(string Name, MountInode Inode)>? Children;

    /// <summary>For a <see cref="MountNodeKind.PointFolder"/>: the point's index (as `info` prints it); -1 otherwise.</summary>
    internal int Point = -1;

    public bool IsDirectory => Kind is MountNodeKind.Root or MountNodeKind.UnreadableVolume or MountNodeKind.PointFolder
        || (Kind == MountNodeKind.FsNode && Node!.Type == FsNodeType.Directory);
}
