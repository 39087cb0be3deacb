namespace VmdkMount.Core.Transports;

/// <summary>
/// The files of a chain on the local host: names are host paths, opens go through <see cref="RegularFileOpener"/>
/// (regular files only, non-blocking, never under /proc, /sys or /dev, under --confine when given) and are then left
/// to a <see cref="FileHandlePool"/>, so a chain of any depth holds a bounded number of descriptors.
/// </summary>
public sealed class LocalSourceStore : ISourceStore
{
    private readonly FileHandlePool _pool;

    // Resolved at the first open, not at construction: a DISK that does not exist is reported before a --confine
    // folder that does not, and a store that is never opened never touches the folder.
    private readonly Lazy<string?> _confineTo;

    /// <param name="pool">the handle pool every file of this store is read through</param>
    /// <param name="confineTo">when given, a folder every opened file must lie under after links are resolved (--confine)</param>
    public LocalSourceStore(FileHandlePool pool, string? confineTo = null)
    {
        _pool = pool;
        _confineTo = new(() => confineTo is null ? null : RegularFileOpener.RealDirectory(confineTo, "--confine"));
    }

    /// <summary>The shared pool, no confinement: what tests and one-off readers use.</summary>
    public static LocalSourceStore Unconfined { get; } = new(FileHandlePool.Shared);

    public string FullName(string name) => Path.GetFullPath(name);

    public string FolderOf(string name) => Path.GetDirectoryName(name) ?? ".";

    public string Resolve(string relativeTo, string name) => Path.GetFullPath(Path.Combine(FolderOf(relativeTo), name));

    public bool IsUnder(string name, string folder) => RegularFileOpener.IsUnder(name, folder);

    public string RealFolderOf(string name)
    {
        string dir = FolderOf(name);
        return RegularFileOpener.RealPathOf(dir) ?? Path.GetFullPath(dir);
    }

    public SourceEntryKind Kind(string name)
    {
        if (OperatingSystem.IsLinux())
        {
            // statx, not an open: a FIFO or device is classified without being touched.
            if (LinuxFileCalls.StatPath(name) is not { } s) return SourceEntryKind.Missing;
            if (s.IsRegular) return SourceEntryKind.RegularFile;
            return (s.Mode & LinuxFileCalls.SIfMt) == LinuxFileCalls.SIfDir ? SourceEntryKind.Folder : SourceEntryKind.SpecialFile;
        }
        if (Directory.Exists(name)) return SourceEntryKind.Folder;
        if (!File.Exists(name)) return SourceEntryKind.Missing;
        // Elsewhere the attributes tell a device or pipe apart only as "not a normal file"; the managed open refuses those.
        return (File.GetAttributes(name) & FileAttributes.Device) != 0 ? SourceEntryKind.SpecialFile : SourceEntryKind.RegularFile;
    }

    public IReadOnlyList<string> FilesBeside(string name)
    {
        try
        {
            return Directory.EnumerateFiles(FolderOf(name)).Select(Path.GetFullPath).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An unreadable folder has no candidates; the search then reports the parent as missing.
            return [];
        }
    }

    public SourceIdentity Identity(string name)
    {
        if (OperatingSystem.IsLinux() && LinuxFileCalls.StatPath(name) is { } s) return new SourceIdentity(s.Device, s.Inode, null);
        return new SourceIdentity(0, 0, CanonicalName(name));
    }

    public ISourceFile Open(string name) => new PooledFile(_pool, _pool.OpenFirst(() => RegularFileOpener.Open(name, _confineTo.Value)));

    /// <summary>Opens a file of the local host the safe way, unconfined (raw inputs of tests and tools).</summary>
    public static ISourceFile OpenFile(string path) => Unconfined.Open(path);

    /// <summary>A spelling that is the same for two names of one file (symbolic links resolved), where no inode is known.</summary>
    private static string CanonicalName(string path)
    {
        string full = Path.GetFullPath(path);
        try
        {
            var target = File.ResolveLinkTarget(full, returnFinalTarget: true);
            return target is null ? full : Path.GetFullPath(target.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return full;
        }
    }
}
