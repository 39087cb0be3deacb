namespace VmdkMount.Fuse;

/// <summary>How a mount looks to the host: who owns nodes that carry no owner, who may enter, how long the kernel caches.</summary>
public sealed record FuseMountOptions
{
    /// <summary>Absolute path of the mount point (an existing, empty directory).</summary>
    public required string MountPoint { get; init; }

    /// <summary>Shown as the mount's source in /proc/mounts (`vmdk:&lt;file&gt;`).</summary>
    public string FsName { get; init; } = "vmdk";

    /// <summary>Let other users (and root) in; for non-root, /etc/fuse.conf must have `user_allow_other`.</summary>
    public bool AllowOther { get; init; }

    /// <summary>Have fusermount3 unmount when this process dies (kill -9 leaves no dead mount).</summary>
    public bool AutoUnmount { get; init; } = true;

    /// <summary>Owner of nodes whose filesystem has none (NTFS, FAT); default: the mounting user.</summary>
    public uint? Uid { get; init; }

    public uint? Gid { get; init; }

    /// <summary>Entry and attribute cache lifetime: nothing changes, so a day.</summary>
    public double CacheSeconds { get; init; } = 86400;

    /// <summary>
    /// Serve reads of files of 1 MiB and more without the kernel's page cache (FOPEN_DIRECT_IO) and advertise 1 MiB
    /// blocks for them so readers ask for 1 MiB at a time; smaller files stay cached. Large sequential reads skip the
    /// per-page cost of filling the FUSE page cache (which bounds every cached FUSE filesystem on one core) and the
    /// image's bytes are not cached twice; but each read(2) becomes one round trip, so programs reading in small
    /// pieces are slower, and shared mmap fails (ENODEV) unless the kernel and libfuse allow it
    /// (FUSE_DIRECT_IO_ALLOW_MMAP, libfuse 3.16+).
    /// </summary>
    public bool DirectIo { get; init; }

    /// <summary>Worker threads of the libfuse session loop; 1 runs the single-threaded loop.</summary>
    public uint MaxThreads { get; init; } = 16;

    /// <summary>libfuse `-d`: print every request.</summary>
    public bool Debug { get; init; }
}
