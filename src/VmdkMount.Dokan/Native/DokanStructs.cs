using System.Runtime.InteropServices;

namespace VmdkMount.Dokan.Native;

// Layouts of dokan2.dll's structures on x64 Windows (LLP64: ULONG is 32 bits, pointers 64). Only fixed-size C# types
// are used (never `long` for ULONG, never `char` arrays that the marshaller could narrow), so the layout is the same
// whichever OS compiles it; tests check every offset against the digest (../shared/docs/fuse-dokan.md section 4).

/// <summary>DOKAN_OPTIONS (16,432 bytes). Kept in native memory until DokanCloseHandle returns: the library keeps the pointer.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct DokanOptions
{
    public const int VolumeSecurityDescriptorMaxSize = 16 * 1024;

    public ushort Version;
    public byte SingleThread;
    public uint Options;
    public ulong GlobalContext;
    /// <summary>LPCWSTR: <c>M:\</c> or an empty NTFS folder.</summary>
    public char* MountPoint;
    public char* UncName;
    /// <summary>Milliseconds per request; the driver unmounts the volume when one takes longer.</summary>
    public uint Timeout;
    public uint AllocationUnitSize;
    public uint SectorSize;
    public uint VolumeSecurityDescriptorLength;
    public fixed byte VolumeSecurityDescriptor[VolumeSecurityDescriptorMaxSize];
}

/// <summary>DOKAN_OPTION_* flags.</summary>
public static class DokanOptionFlags
{
    public const uint Debug = 1, Stderr = 2, AltStream = 4, WriteProtect = 8, Network = 16, Removable = 32, MountManager = 64,
        CurrentSession = 128, FileLockUserMode = 256, CaseSensitive = 512;
}

/// <summary>DOKAN_FILE_INFO (48 bytes): one per open handle, shared by the callbacks on it.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct DokanFileInfo
{
    /// <summary>Ours: the handle number of <see cref="DokanAdapter"/>'s open table.</summary>
    public ulong Context;
    public ulong DokanContext;
    public DokanOptions* DokanOptions;
    public nint ProcessingContext;
    public uint ProcessId;
    /// <summary>Set in ZwCreateFile for a directory: Dokan asks for listings on it then.</summary>
    public byte IsDirectory;
    public byte DeletePending;
    public byte PagingIo;
    public byte SynchronousIo;
    public byte Nocache;
    public byte WriteToEndOfFile;
}

/// <summary>
/// DOKAN_OPERATIONS (25 function pointers, 200 bytes) in the header's order. Plain pointer-sized fields: they are
/// filled with addresses of <c>[UnmanagedCallersOnly]</c> functions (<see cref="DokanCallbacks"/>).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct DokanOperations
{
    public nint ZwCreateFile;
    public nint Cleanup;
    public nint CloseFile;
    public nint ReadFile;
    public nint WriteFile;
    public nint FlushFileBuffers;
    public nint GetFileInformation;
    public nint FindFiles;
    public nint FindFilesWithPattern;
    public nint SetFileAttributes;
    public nint SetFileTime;
    public nint DeleteFile;
    public nint DeleteDirectory;
    public nint MoveFile;
    public nint SetEndOfFile;
    public nint SetAllocationSize;
    public nint LockFile;
    public nint UnlockFile;
    public nint GetDiskFreeSpace;
    public nint GetVolumeInformation;
    public nint Mounted;
    public nint Unmounted;
    public nint GetFileSecurity;
    public nint SetFileSecurity;
    public nint FindStreams;
}

/// <summary>FILETIME: 100 ns ticks since 1601-01-01 UTC, low half first.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FileTime
{
    /// <summary>FILETIME of the Unix epoch.</summary>
    public const long UnixEpochTicks = 116_444_736_000_000_000;

    public uint Low;
    public uint High;

    public FileTime(long ticks)
    {
        Low = (uint)ticks;
        High = (uint)((ulong)ticks >> 32);
    }

    public readonly long Ticks => (long)(((ulong)High << 32) | Low);
}

/// <summary>BY_HANDLE_FILE_INFORMATION (52 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ByHandleFileInformation
{
    public uint FileAttributes;
    public FileTime CreationTime;
    public FileTime LastAccessTime;
    public FileTime LastWriteTime;
    public uint VolumeSerialNumber;
    public uint FileSizeHigh;
    public uint FileSizeLow;
    public uint NumberOfLinks;
    public uint FileIndexHigh;
    public uint FileIndexLow;
}

/// <summary>WIN32_FIND_DATAW (592 bytes). Names are UTF-16 code units, NUL-terminated, at most 259 of them.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct Win32FindData
{
    public const int MaxPath = 260;
    public const int AlternateNameLength = 14;

    public uint FileAttributes;
    public FileTime CreationTime;
    public FileTime LastAccessTime;
    public FileTime LastWriteTime;
    public uint FileSizeHigh;
    public uint FileSizeLow;
    public uint Reserved0;
    public uint Reserved1;
    public fixed ushort FileName[MaxPath];
    public fixed ushort AlternateFileName[AlternateNameLength];
}

/// <summary>WIN32_FIND_STREAM_DATA (600 bytes): a stream's size and its name as <c>:name:$DATA</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct Win32FindStreamData
{
    /// <summary>MAX_PATH + 36.</summary>
    public const int NameLength = 296;

    public long StreamSize;
    public fixed ushort StreamName[NameLength];
}
