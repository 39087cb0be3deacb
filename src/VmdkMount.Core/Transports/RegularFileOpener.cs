using Microsoft.Win32.SafeHandles;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Transports;

/// <summary>
/// The one way a chain file (descriptor, extent, parent, raw image) is opened. A descriptor is untrusted input that
/// names host files, so every open must prove the file is a plain regular file of a backup, and that without ever
/// blocking:
/// 1. before the open, the name (normalised: `//dev`, `/./dev`) and its real path (realpath(3)) are checked against
///    /proc, /sys, /dev and --confine, so a device node is not even opened when its name already gives it away;
///    and a name that stat(2) already shows to be no regular file is refused unopened;
/// 2. open(2) with O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_NOCTTY: a FIFO with no writer returns at once instead of hanging,
///    a terminal cannot become our controlling tty, and no child process inherits the descriptor;
/// 3. statx of the descriptor must say S_ISREG (not a FIFO, socket, device or folder);
/// 4. the descriptor must not live on a kernel filesystem (<see cref="KernelFileSystems"/>: f_type and st_dev);
/// 5. the descriptor's own real path (readlink /proc/self/fd/N: what was opened, not what the name meant a moment
///    earlier) is checked again against /proc, /sys, /dev and --confine, which closes the rename race of step 1.
/// Only then is O_NONBLOCK cleared (it only guarded the open). Refusals are <see cref="SourceUnavailableException"/>
/// naming the file and the reason. On other systems only the managed open and the --confine check apply.
/// </summary>
public static class RegularFileOpener
{
    /// <summary>Opens <paramref name="path"/>; when <paramref name="confineTo"/> (a real folder path) is given, the file must lie under it.</summary>
    public static OpenedFile Open(string path, string? confineTo = null)
    {
        return OperatingSystem.IsLinux() ? OpenLinux(path, confineTo) : OpenManaged(path, confineTo);
    }

    /// <summary>Opens a file again (after the handle pool closed it) and proves it is still the file first opened.</summary>
    public static SafeFileHandle Reopen(OpenedFile first)
    {
        if (OperatingSystem.IsLinux()) return ReopenLinux(first);
        var again = Open(first.RealPath);
        if (again.Device != first.Device || again.Inode != first.Inode)
        {
            again.Handle.Dispose();
            throw new SourceUnavailableException(first.Path, $"refused: {first.RealPath} was replaced by another file while the chain was open");
        }
        return again.Handle;
    }

    /// <summary>
    /// The handle pool's reopen, on its hot path when a deep chain has more files than the pool has handles: the file
    /// first opened passed every check, so proving that the descriptor is that same inode (st_dev, st_ino) is enough;
    /// the name, kernel-filesystem and --confine checks are not repeated. O_NONBLOCK stays, since until the identity is
    /// known the name may have been swapped for a FIFO.
    /// </summary>
    private static SafeFileHandle ReopenLinux(OpenedFile first)
    {
        int fd = LinuxFileCalls.Open(first.RealPath, LinuxFileCalls.ORdOnly | LinuxFileCalls.ONonBlock | LinuxFileCalls.OCloExec | LinuxFileCalls.ONoCtty);
        if (fd < 0) throw OpenFailed(first.Path, -fd);
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (LinuxFileCalls.StatFd(fd, out _) is not { } stat || stat.Device != first.Device || stat.Inode != first.Inode)
        {
            handle.Dispose();
            throw new SourceUnavailableException(first.Path, $"refused: {first.RealPath} was replaced by another file while the chain was open");
        }
        LinuxFileCalls.ClearNonBlocking(fd);
        return handle;
    }

    /// <summary>The real path of a folder (for --confine and a descriptor's folder); an error when it is not one.</summary>
    public static string RealDirectory(string dir, string what)
    {
        string full = System.IO.Path.GetFullPath(dir);
        if (!Directory.Exists(full)) throw new SourceUnavailableException(dir, $"{what} is not a folder");
        return RealPathOf(full) ?? full;
    }

    /// <summary>Whether <paramref name="realPath"/> lies inside <paramref name="realDir"/> (a prefix check with a trailing separator).</summary>
    public static bool IsUnder(string realPath, string realDir)
    {
        string root = realDir.EndsWith(System.IO.Path.DirectorySeparatorChar) ? realDir : realDir + System.IO.Path.DirectorySeparatorChar;
        return realPath.StartsWith(root, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
    }

    /// <summary>Every link and `..` of an existing path resolved; null when it does not exist.</summary>
    public static string? RealPathOf(string path)
    {
        if (OperatingSystem.IsLinux()) return LinuxFileCalls.RealPath(path);
        string full = System.IO.Path.GetFullPath(path);
        try
        {
            var target = File.ResolveLinkTarget(full, returnFinalTarget: true);
            return target is null ? full : System.IO.Path.GetFullPath(target.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static OpenedFile OpenLinux(string path, string? confineTo)
    {
        if (LinuxFileCalls.RealPath(path) is { } before) CheckPlace(path, before, confineTo);
        // A device node is not even opened when its type is known beforehand (an open can have effects of its own).
        if (LinuxFileCalls.StatPath(path) is { IsRegular: false } early)
            throw new SourceUnavailableException(path, $"refused: {KindOf(early.Mode)}, not a regular file (a chain reads only regular files)");
        int fd = LinuxFileCalls.Open(path, LinuxFileCalls.ORdOnly | LinuxFileCalls.ONonBlock | LinuxFileCalls.OCloExec | LinuxFileCalls.ONoCtty);
        if (fd < 0) throw OpenFailed(path, -fd);
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (LinuxFileCalls.StatFd(fd, out int errno) is not { } stat)
                throw new SourceUnavailableException(path, $"cannot stat the opened file: {LinuxFileCalls.Describe(errno)}");
            if (!stat.IsRegular)
                throw new SourceUnavailableException(path, $"refused: {KindOf(stat.Mode)}, not a regular file (a chain reads only regular files)");
            if (LinuxFileCalls.FileSystemType(fd) is { } fType && KernelFileSystems.NameOfMagic(fType) is { } fsName)
                throw new SourceUnavailableException(path, $"refused: the file is on the kernel's {fsName}, not part of a backup");
            if (KernelFileSystems.IsKernelDevice(stat.Device))
                throw new SourceUnavailableException(path, "refused: the file is on a kernel filesystem (/dev, /proc or /sys), not part of a backup");
            string real = DescriptorPath(fd) ?? LinuxFileCalls.RealPath(path) ?? System.IO.Path.GetFullPath(path);
            CheckPlace(path, real, confineTo);
            LinuxFileCalls.ClearNonBlocking(fd);
            return new OpenedFile(handle, path, real, stat.Size, stat.Device, stat.Inode);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>A failed open(2): out of descriptors is its own kind, which the handle pool answers by closing handles and trying again.</summary>
    private static SourceUnavailableException OpenFailed(string path, int errno) =>
        LinuxFileCalls.IsOutOfDescriptors(errno)
            ? new OutOfDescriptorsException(path, LinuxFileCalls.Describe(errno))
            : new SourceUnavailableException(path, LinuxFileCalls.Describe(errno));

    private static OpenedFile OpenManaged(string path, string? confineTo)
    {
        string real = RealPathOf(path) ?? System.IO.Path.GetFullPath(path);
        CheckPlace(path, real, confineTo);
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SourceUnavailableException(path, e.Message, e);
        }
        return new OpenedFile(handle, path, real, RandomAccess.GetLength(handle), 0, 0);
    }

    /// <summary>What the kernel says the descriptor refers to; null without /proc or for a deleted file.</summary>
    private static string? DescriptorPath(int fd)
    {
        try
        {
            string? target = new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
            return target is not null && target.StartsWith('/') && !target.EndsWith(" (deleted)", StringComparison.Ordinal) ? target : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void CheckPlace(string path, string real, string? confineTo)
    {
        // The name as written counts too: `/proc/self/root/etc/passwd` resolves to a plain file, but a name that goes
        // through the kernel's view of processes is never one a backup writes.
        if (OperatingSystem.IsLinux() && KernelFileSystems.RootHolding(System.IO.Path.GetFullPath(path)) is { } named)
            throw new SourceUnavailableException(path, $"refused: the name leads through {named} (devices and kernel files are never part of a backup)");
        if (OperatingSystem.IsLinux() && KernelFileSystems.RootHolding(real) is { } root)
            throw new SourceUnavailableException(path, $"refused: resolves to {real}, inside {root} (devices and kernel files are never part of a backup)");
        if (confineTo is not null && !IsUnder(real, confineTo))
            throw new SourceUnavailableException(path, $"refused: resolves to {real}, outside the --confine folder {confineTo}");
    }

    private static string KindOf(int mode) => (mode & LinuxFileCalls.SIfMt) switch
    {
        0x1000 => "a FIFO (named pipe)",
        0x2000 => "a character device",
        0x4000 => "a folder",
        0x6000 => "a block device",
        0xC000 => "a socket",
        _ => $"a special file (mode {Convert.ToString(mode, 8)})",
    };
}
