using System.Runtime.InteropServices;

namespace VmdkMount.Cli.Restore.Native;

/// <summary>
/// The `*at` family of libc calls that restore uses to create every path relative to an open directory, so that
/// neither a name from the image nor a symlink already on the host can redirect a write (see DestinationTree).
/// Linux only: the open flags below differ between architectures and from the BSDs, and statx is Linux's.
/// Every call returns -1 and sets errno on failure; <see cref="Fail"/> turns that into an IOException.
/// </summary>
internal static unsafe partial class PosixAt
{
    private const string Libc = "libc";

    public const int AtFdCwd = -100;
    public const int AtSymlinkNoFollow = 0x100;
    public const int AtRemoveDir = 0x200;
    public const int AtEmptyPath = 0x1000;

    public const int OReadOnly = 0;
    public const int OWriteOnly = 1;
    public const int OCreate = 0x40;
    public const int OExclusive = 0x80;
    public const int OCloseOnExec = 0x80000;
    private static readonly bool Arm = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm;
    public static int ODirectory => Arm ? 0x4000 : 0x10000;
    public static int ONoFollow => Arm ? 0x8000 : 0x20000;

    public const int EExist = 17;
    public const int ENotDir = 20;
    public const int EIsDir = 21;
    public const int ENoEnt = 2;
    public const int ELoop = 40;

    /// <summary>UTIME_OMIT: leave that time as it is.</summary>
    public const long UtimeOmit = (1L << 30) - 2;

    [LibraryImport(Libc, EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OpenAt(int dirFd, string path, int flags, uint mode);

    [LibraryImport(Libc, EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkdirAt(int dirFd, string path, uint mode);

    [LibraryImport(Libc, EntryPoint = "symlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SymlinkAt(string target, int dirFd, string linkPath);

    [LibraryImport(Libc, EntryPoint = "linkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int LinkAt(int oldDirFd, string oldPath, int newDirFd, string newPath, int flags);

    [LibraryImport(Libc, EntryPoint = "renameat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int RenameAt(int oldDirFd, string oldPath, int newDirFd, string newPath);

    [LibraryImport(Libc, EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int UnlinkAt(int dirFd, string path, int flags);

    /// <summary><paramref name="times"/>: two timespecs (access, modification), each seconds then nanoseconds.</summary>
    [LibraryImport(Libc, EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int UtimensAt(int dirFd, string path, long* times, int flags);

    [LibraryImport(Libc, EntryPoint = "futimens", SetLastError = true)]
    public static partial int Futimens(int fd, long* times);

    [LibraryImport(Libc, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    /// <summary>What restore needs to know of an existing entry: its type and identity.</summary>
    public readonly record struct EntryStat(uint Mode, ulong Device, ulong Inode, long Blocks)
    {
        public bool IsDirectory => (Mode & 0xF000) == 0x4000;
        public bool IsSymlink => (Mode & 0xF000) == 0xA000;
        public bool IsRegular => (Mode & 0xF000) == 0x8000;
    }

    // struct statx (linux/stat.h): the same layout on every architecture, unlike struct stat.
    private const int StatxSize = 256;
    private const uint StatxBasicStats = 0x7FF;
    private const int StxMode = 28, StxIno = 32, StxBlocks = 48, StxDevMajor = 136, StxDevMinor = 140;

    /// <summary>statx of <paramref name="path"/> relative to <paramref name="dirFd"/>; false when it does not exist.</summary>
    public static bool TryStat(int dirFd, string path, int flags, out EntryStat stat)
    {
        byte* buffer = stackalloc byte[StatxSize];
        if (Statx(dirFd, path, flags, StatxBasicStats, buffer) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            stat = default;
            if (errno is ENoEnt or ENotDir) return false;
            throw Fail($"stat {path}", errno);
        }
        uint major = *(uint*)(buffer + StxDevMajor), minor = *(uint*)(buffer + StxDevMinor);
        stat = new EntryStat(*(ushort*)(buffer + StxMode), ((ulong)major << 32) | minor, *(ulong*)(buffer + StxIno),
            *(long*)(buffer + StxBlocks));
        return true;
    }

    /// <summary>statx of an open descriptor.</summary>
    public static EntryStat StatFd(int fd) =>
        TryStat(fd, "", AtEmptyPath, out var s) ? s : throw new IOException($"stat of descriptor {fd} failed");

    public static IOException Fail(string what) => Fail(what, Marshal.GetLastPInvokeError());

    public static IOException Fail(string what, int errno) =>
        new($"{what}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);

    public static void ThrowIfNotLinux()
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("restoring to the host is implemented for Linux only (it relies on openat/statx with no-follow semantics)");
    }
}
