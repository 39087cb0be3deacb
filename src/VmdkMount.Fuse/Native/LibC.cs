using System.Runtime.InteropServices;

namespace VmdkMount.Fuse.Native;

/// <summary>The few libc calls the mount needs (unmounting, process checks, stdio redirection, read buffers).</summary>
internal static unsafe partial class LibC
{
    private const string Library = "libc";

    public const int MntDetach = 2;
    public const int ORdOnly = 0;
    public const int OWrOnly = 1;
    public const int OCreat = 0x40;
    public const int OAppend = 0x400;

    [LibraryImport(Library, EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string source, string target, string fsType, nuint flags, nint data);

    [LibraryImport(Library, EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Umount2(string target, int flags);

    [LibraryImport(Library, EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Access(string path, int mode);

    [LibraryImport(Library, EntryPoint = "geteuid")]
    public static partial uint GetEuid();

    [LibraryImport(Library, EntryPoint = "getuid")]
    public static partial uint GetUid();

    [LibraryImport(Library, EntryPoint = "getgid")]
    public static partial uint GetGid();

    [LibraryImport(Library, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, int mode);

    [LibraryImport(Library, EntryPoint = "dup2", SetLastError = true)]
    public static partial int Dup2(int oldFd, int newFd);

    public const int FDupFdCloexec = 1030;

    /// <summary>fcntl with one int argument (variadic in C; an int in a register is passed the same way on x64/arm64).</summary>
    [LibraryImport(Library, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport(Library, EntryPoint = "close")]
    public static partial int Close(int fd);

    public const int MadvHugePage = 14;

    [LibraryImport(Library, EntryPoint = "madvise")]
    public static partial int Madvise(void* address, nuint length, int advice);
}
