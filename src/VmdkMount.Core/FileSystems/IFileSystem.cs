namespace VmdkMount.Core.FileSystems;

/// <summary>
/// A read-only filesystem reader, inode-based so that FUSE's low-level API and Dokan map onto it directly.
///
/// Concepts, once: every file, directory or link is a node with a stable 64-bit <c>Id</c> (NTFS: MFT record
/// number; ext: inode number; FAT: a number derived from the directory entry's position). Hard links are one node
/// reached by several names. Nothing ever changes underneath (backups are immutable), so a frontend may cache
/// every answer forever. Readers are thread-safe: FUSE calls from many threads at once.
///
/// Errors: a missing name is <c>null</c> from <see cref="Lookup"/>; a damaged structure raises
/// <see cref="Errors.CorruptDataException"/>; a file whose data cannot be produced (EFS, dedup placeholder)
/// raises <see cref="Errors.FileReadException"/>. A frontend turns either into EIO (or an exit code) for that call.
///
/// This is the core every reader has. What only some formats have is an optional interface that a reader
/// implements only when it has the feature, as go-fuse's Node*er interfaces: <see cref="ISymlinkReader"/>,
/// <see cref="INamedStreams"/>, <see cref="IFileAllocationMap"/>, <see cref="IReportsUnshownEntries"/>. A caller
/// tests for the interface (and <see cref="FormatRegistry.Has"/> answers the same before a volume is opened);
/// <see cref="MissingCapability"/> words the refusal where one is needed.
/// </summary>
public interface IFileSystem : IDisposable
{
    /// <summary>`ntfs`, `ext4`, `fat32`, `exfat`, ... (the same words as volume discovery uses).</summary>
    string Kind { get; }

    string? Label { get; }

    long RootId { get; }

    /// <summary>Things a person should know about the volume (not cleanly unmounted, journal needs recovery, ...).</summary>
    IReadOnlyList<string> Warnings { get; }

    /// <summary>Finds <paramref name="name"/> in a directory, the way the source OS would (NTFS: case-insensitive via $UpCase). Null when absent.</summary>
    FsNode? Lookup(long directoryId, string name);

    /// <summary>Every entry of a directory, without `.` and `..`, each with its node (readdirplus).</summary>
    IEnumerable<FsDirEntry> List(long directoryId);

    FsNode Stat(long id);

    /// <summary>Reads file data at <paramref name="offset"/>; returns bytes read, 0 at or past the end. Sparse parts read as zeros.</summary>
    int Read(long id, long offset, Span<byte> destination);
}

public enum FsNodeType
{
    File,
    Directory,
    Symlink,
    Device,
    Fifo,
    Socket,
    Other,
}

[Flags]
public enum FsAttributes
{
    None = 0,
    ReadOnly = 1 << 0,
    Hidden = 1 << 1,
    System = 1 << 2,
    Archive = 1 << 3,
    Compressed = 1 << 4,
    Encrypted = 1 << 5,
    Sparse = 1 << 6,
    ReparsePoint = 1 << 7,
    Offline = 1 << 8,
    /// <summary>The node is a filesystem metafile ($MFT, ...), hidden from listings unless asked for.</summary>
    Metafile = 1 << 9,
}

/// <summary>A point in time with nanosecond resolution (ext keeps nanoseconds; NTFS 100 ns; FAT 2 s).</summary>
public readonly record struct FsTime(long UnixSeconds, int Nanoseconds)
{
    public static FsTime FromDateTime(DateTime utc)
    {
        long ticks = utc.ToUniversalTime().Ticks - DateTime.UnixEpoch.Ticks;
        long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rem);
        if (rem < 0) { seconds--; rem += TimeSpan.TicksPerSecond; }
        return new FsTime(seconds, (int)(rem * 100));
    }

    public DateTime ToDateTime() =>
        DateTime.UnixEpoch.AddTicks(UnixSeconds * TimeSpan.TicksPerSecond + Nanoseconds / 100);
}

public sealed record FsNode
{
    public required long Id { get; init; }
    public required FsNodeType Type { get; init; }
    /// <summary>Bytes of the main data stream (for a symlink: length of the target).</summary>
    public required long Size { get; init; }
    /// <summary>Hard-link count (NTFS: without DOS-only alias names).</summary>
    public int Links { get; init; } = 1;
    /// <summary>Unix permission bits (07777) when the filesystem has them; null where it does not (NTFS, FAT).</summary>
    public uint? Mode { get; init; }
    public uint? Uid { get; init; }
    public uint? Gid { get; init; }
    public FsTime? Created { get; init; }
    public FsTime? Modified { get; init; }
    /// <summary>Metadata change time (NTFS: MFT record changed; ext: ctime).</summary>
    public FsTime? Changed { get; init; }
    public FsTime? Accessed { get; init; }
    public FsAttributes Attributes { get; init; }
    /// <summary>Device number for device nodes (Linux encoding: major/minor as `makedev`).</summary>
    public ulong DeviceNumber { get; init; }
    /// <summary>For <see cref="FsNodeType.Device"/>: true for a block device, false for a character device.</summary>
    public bool IsBlockDevice { get; init; }
    /// <summary>Bytes actually allocated on disk, when known (st_blocks * 512).</summary>
    public long? AllocatedSize { get; init; }
}

public readonly record struct FsDirEntry(string Name, FsNode Node);

public readonly record struct FsStream(string Name, long Size);

/// <summary>Choices that change what a reader shows.</summary>
public sealed record FileSystemOptions
{
    /// <summary>Show metafiles ($MFT, $LogFile, ...) in listings.</summary>
    public bool ShowSystemFiles { get; init; }

    /// <summary>The memory budget the reader's caches share with the disk's (null: <see cref="Caching.CacheBudget.Shared"/>).</summary>
    public Caching.CacheBudget? Cache { get; init; }
}
