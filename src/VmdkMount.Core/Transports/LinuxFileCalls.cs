using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace VmdkMount.Core.Transports;

/// <summary>
/// The few libc calls <see cref="RegularFileOpener"/> needs and .NET does not offer on a descriptor: open without
/// blocking, statx of the descriptor (its type, device and inode) and fstatfs (which filesystem the inode lives on).
/// statx is used instead of fstat because its struct layout is the same on every Linux architecture; statfs's
/// f_type is the first field (a long) on every 64-bit Linux ABI .NET runs on.
/// </summary>
internal static partial class LinuxFileCalls
{
    // Values shared by x86_64 and arm64 (asm-generic/fcntl.h).
    public const int ORdOnly = 0;
    public const int ONoCtty = 0x100;
    public const int ONonBlock = 0x800;
    public const int OCloExec = 0x80000;
    private const int FGetFl = 3;
    private const int FSetFl = 4;
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7FF;

    // struct statx (linux/stat.h): fixed layout, 256 bytes.
    private const int StatxBytes = 256;
    private const int StxMode = 28;
    private const int StxIno = 32;
    private const int StxSize = 40;
    private const int StxDevMajor = 136;
    private const int StxDevMinor = 140;

    // struct statfs is 120 bytes on x86_64 and arm64; room to spare for any other 64-bit ABI.
    private const int StatfsBytes = 256;

    public const int SIfMt = 0xF000;
    public const int SIfReg = 0x8000;
    public const int SIfDir = 0x4000;

    /// <summary>What statx says about one file.</summary>
    public readonly record struct FileStat(int Mode, ulong Device, ulong Inode, long Size)
    {
        public bool IsRegular => (Mode & SIfMt) == SIfReg;
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int OpenRaw(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int StatxRaw(int dirFd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    private static unsafe partial int FstatfsRaw(int fd, byte* buffer);

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint RealpathRaw(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint p);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static unsafe partial int GetRlimitRaw(int resource, ulong* limits);

    // RLIMIT_NOFILE is 7 on x86_64 and arm64 (asm-generic/resource.h); struct rlimit is two rlim_t (64-bit).
    private const int RlimitNoFile = 7;

    /// <summary>errno values of a process (EMFILE) or the system (ENFILE) out of file descriptors.</summary>
    public const int EnFile = 23;
    public const int EmFile = 24;

    /// <summary>The soft RLIMIT_NOFILE (`ulimit -n`): the lowest descriptor number open(2) may not return; null when unknown or unlimited.</summary>
    public static unsafe long? OpenFileLimit()
    {
        ulong* limits = stackalloc ulong[2];
        if (GetRlimitRaw(RlimitNoFile, limits) != 0) return null;
        return limits[0] >= long.MaxValue ? null : (long)limits[0];
    }

    /// <summary>Whether an errno says the process or the system is out of descriptors (EMFILE, ENFILE).</summary>
    public static bool IsOutOfDescriptors(int errno) => errno is EmFile or EnFile;

    /// <summary>open(2); returns the descriptor or -errno.</summary>
    public static int Open(string path, int flags)
    {
        int fd = OpenRaw(path, flags, 0);
        return fd >= 0 ? fd : -Marshal.GetLastPInvokeError();
    }

    /// <summary>Clears O_NONBLOCK once the descriptor is known to be a regular file (it only guarded the open).</summary>
    public static void ClearNonBlocking(int fd)
    {
        int flags = Fcntl(fd, FGetFl, 0);
        if (flags >= 0 && (flags & ONonBlock) != 0) Fcntl(fd, FSetFl, flags & ~ONonBlock);
    }

    /// <summary>statx of an open descriptor (AT_EMPTY_PATH); null and errno on failure.</summary>
    public static FileStat? StatFd(int fd, out int errno) => Statx(fd, "", AtEmptyPath, out errno);

    /// <summary>statx of a path, following links; null when it cannot be stat'ed.</summary>
    public static FileStat? StatPath(string path) => Statx(AtFdCwd, path, 0, out _);

    private static unsafe FileStat? Statx(int dirFd, string path, int flags, out int errno)
    {
        byte* buf = stackalloc byte[StatxBytes];
        new Span<byte>(buf, StatxBytes).Clear();
        if (StatxRaw(dirFd, path, flags, StatxBasicStats, buf) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        errno = 0;
        var s = new ReadOnlySpan<byte>(buf, StatxBytes);
        ulong dev = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(s[StxDevMajor..]) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(s[StxDevMinor..]);
        return new FileStat(BinaryPrimitives.ReadUInt16LittleEndian(s[StxMode..]), dev,
            BinaryPrimitives.ReadUInt64LittleEndian(s[StxIno..]), BinaryPrimitives.ReadInt64LittleEndian(s[StxSize..]));
    }

    /// <summary>The f_type (filesystem magic) of the filesystem holding an open descriptor; null on failure.</summary>
    public static unsafe long? FileSystemType(int fd)
    {
        byte* buf = stackalloc byte[StatfsBytes];
        new Span<byte>(buf, StatfsBytes).Clear();
        if (FstatfsRaw(fd, buf) != 0) return null;
        return BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(buf, 8));
    }

    /// <summary>realpath(3): every link and `..` resolved; null when a component does not exist.</summary>
    public static string? RealPath(string path)
    {
        nint p = RealpathRaw(path, 0);
        if (p == 0) return null;
        try
        {
            return Marshal.PtrToStringUTF8(p);
        }
        finally
        {
            Free(p);
        }
    }

    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
