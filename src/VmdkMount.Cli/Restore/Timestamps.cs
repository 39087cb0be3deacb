using VmdkMount.Cli.Restore.Native;
using VmdkMount.Core.FileSystems;

namespace VmdkMount.Cli.Restore;

/// <summary>A node's access and modification times applied to a restored entry, by descriptor or no-follow name.</summary>
internal static unsafe class Timestamps
{
    public static bool ApplyToFd(int fd, FsNode node)
    {
        if (node.Modified is null && node.Accessed is null) return true;
        long* times = stackalloc long[4];
        Fill(times, node);
        return PosixAt.Futimens(fd, times) == 0;
    }

    /// <summary>For a symlink: its own times, never its target's.</summary>
    public static bool ApplyToEntry(int dirFd, string name, FsNode node)
    {
        if (node.Modified is null && node.Accessed is null) return true;
        long* times = stackalloc long[4];
        Fill(times, node);
        return PosixAt.UtimensAt(dirFd, name, times, PosixAt.AtSymlinkNoFollow) == 0;
    }

    private static void Fill(long* times, FsNode node)
    {
        Set(times, node.Accessed);
        Set(times + 2, node.Modified);
    }

    private static void Set(long* spec, FsTime? t)
    {
        if (t is { } v) { spec[0] = v.UnixSeconds; spec[1] = Math.Clamp(v.Nanoseconds, 0, 999_999_999); }
        else { spec[0] = 0; spec[1] = PosixAt.UtimeOmit; }
    }
}
