using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using VmdkMount.Core.Mounting;

namespace VmdkMount.Dokan.Native;

/// <summary>
/// The functions dokan2.dll calls, as <c>[UnmanagedCallersOnly]</c> statics whose addresses fill
/// <see cref="DokanOperations"/> (no delegates to keep alive, nothing for the trimmer to lose). Each finds its
/// <see cref="IDokanFileSystem"/> by <c>DokanOptions.GlobalContext</c>, and each is guarded: an escaped .NET exception
/// would kill the process on Dokan's thread, so every exception becomes the NTSTATUS of the mount model's one error
/// classification (<see cref="NtStatus.From(Exception, bool)"/>), logged as the FUSE frontend logs it.
/// </summary>
public static unsafe class DokanCallbacks
{
    private static readonly ConcurrentDictionary<ulong, IDokanFileSystem> Instances = new();
    private static long _nextInstance;

    /// <summary>Makes <paramref name="fs"/> reachable from callbacks whose options carry the returned GlobalContext.</summary>
    public static ulong Register(IDokanFileSystem fs)
    {
        ulong id = (ulong)Interlocked.Increment(ref _nextInstance);
        Instances[id] = fs;
        return id;
    }

    public static void Unregister(ulong id) => Instances.TryRemove(id, out _);

    /// <summary>The operations table, every slot filled (write operations answer STATUS_MEDIA_WRITE_PROTECTED).</summary>
    public static DokanOperations Table() => new()
    {
        ZwCreateFile = (nint)(delegate* unmanaged[Stdcall]<char*, void*, uint, uint, uint, uint, uint, DokanFileInfo*, int>)&ZwCreateFile,
        Cleanup = (nint)(delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, void>)&Cleanup,
        CloseFile = (nint)(delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, void>)&CloseFile,
        ReadFile = (nint)(delegate* unmanaged[Stdcall]<char*, void*, uint, uint*, long, DokanFileInfo*, int>)&ReadFile,
        WriteFile = (nint)(delegate* unmanaged[Stdcall]<char*, void*, uint, uint*, long, DokanFileInfo*, int>)&WriteFile,
        FlushFileBuffers = (nint)(delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, int>)&FlushFileBuffers,
        GetFileInformation = (nint)(delegate* unmanaged[Stdcall]<char*, ByHandleFileInformation*, DokanFileInfo*, int>)&GetFileInformation,
        FindFiles = (nint)(delegate* unmanaged[Stdcall]<char*, delegate* unmanaged[Stdcall]<Win32FindData*, DokanFileInfo*, int>, DokanFileInfo*, int>)&FindFiles,
        FindFilesWithPattern = (nint)(delegate* unmanaged[Stdcall]<char*, char*, delegate* unmanaged[Stdcall]<Win32FindData*, DokanFileInfo*, int>, DokanFileInfo*, int>)&FindFilesWithPattern,
        SetFileAttributes = (nint)(delegate* unmanaged[Stdcall]<char*, uint, DokanFileInfo*, int>)&SetFileAttributes,
        SetFileTime = (nint)(delegate* unmanaged[Stdcall]<char*, FileTime*, FileTime*, FileTime*, DokanFileInfo*, int>)&SetFileTime,
        DeleteFile = (nint)(delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, int>)&DeleteFile,
        DeleteDirectory = (nint)(delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, int>)&DeleteDirectory,
        MoveFile = (nint)(delegate* unmanaged[Stdcall]<char*, char*, int, DokanFileInfo*, int>)&MoveFile,
        SetEndOfFile = (nint)(delegate* unmanaged[Stdcall]<char*, long, DokanFileInfo*, int>)&SetEndOfFile,
        SetAllocationSize = (nint)(delegate* unmanaged[Stdcall]<char*, long, DokanFileInfo*, int>)&SetAllocationSize,
        LockFile = (nint)(delegate* unmanaged[Stdcall]<char*, long, long, DokanFileInfo*, int>)&LockFile,
        UnlockFile = (nint)(delegate* unmanaged[Stdcall]<char*, long, long, DokanFileInfo*, int>)&UnlockFile,
        GetDiskFreeSpace = (nint)(delegate* unmanaged[Stdcall]<ulong*, ulong*, ulong*, DokanFileInfo*, int>)&GetDiskFreeSpace,
        GetVolumeInformation = (nint)(delegate* unmanaged[Stdcall]<char*, uint, uint*, uint*, uint*, char*, uint, DokanFileInfo*, int>)&GetVolumeInformation,
        Mounted = (nint)(delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, int>)&Mounted,
        Unmounted = (nint)(delegate* unmanaged[Stdcall]<DokanFileInfo*, int>)&Unmounted,
        GetFileSecurity = (nint)(delegate* unmanaged[Stdcall]<char*, uint*, void*, uint, uint*, DokanFileInfo*, int>)&GetFileSecurity,
        SetFileSecurity = (nint)(delegate* unmanaged[Stdcall]<char*, uint*, void*, uint, DokanFileInfo*, int>)&SetFileSecurity,
        FindStreams = (nint)(delegate* unmanaged[Stdcall]<char*, delegate* unmanaged[Stdcall]<Win32FindStreamData*, void*, int>, void*, DokanFileInfo*, int>)&FindStreams,
    };

    private static IDokanFileSystem? Find(DokanFileInfo* info) =>
        info is not null && info->DokanOptions is not null && Instances.TryGetValue(info->DokanOptions->GlobalContext, out var fs) ? fs : null;

    private static string Text(char* s) => s is null ? "" : new string(s);

    /// <summary>The one place an exception becomes an NTSTATUS; the log line is the model's (none for a missing name).</summary>
    private static int Fail(IDokanFileSystem? fs, Exception e, string operation, char* name)
    {
        try
        {
            if (MountErrors.Describe(e, operation, name is null ? null : Text(name)) is { } line) fs?.Log(line);
        }
        catch (Exception)
        {
            // A logger that throws must not take the process down either.
        }
        return S(NtStatus.From(e));
    }

    /// <summary>NTSTATUS is a signed LONG; the constants are written as the unsigned hex of ntstatus.h.</summary>
    private static int S(uint status) => unchecked((int)status);

    private static int NoInstance => S(NtStatus.InternalError);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int ZwCreateFile(char* name, void* securityContext, uint desiredAccess, uint fileAttributes, uint shareAccess,
        uint createDisposition, uint createOptions, DokanFileInfo* info)
    {
        var fs = Find(info);
        if (fs is null) return NoInstance;
        try
        {
            return (int)fs.CreateFile(Text(name), desiredAccess, fileAttributes, shareAccess, createDisposition, createOptions, info);
        }
        catch (Exception e)
        {
            return Fail(fs, e, "open", name);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static void Cleanup(char* name, DokanFileInfo* info)
    {
        var fs = Find(info);
        try
        {
            fs?.Cleanup(Text(name), info);
        }
        catch (Exception e)
        {
            Fail(fs, e, "cleanup", name);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static void CloseFile(char* name, DokanFileInfo* info)
    {
        var fs = Find(info);
        try
        {
            fs?.CloseFile(Text(name), info);
        }
        catch (Exception e)
        {
            Fail(fs, e, "close", name);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int ReadFile(char* name, void* buffer, uint length, uint* readLength, long offset, DokanFileInfo* info)
    {
        if (readLength is not null) *readLength = 0;
        var fs = Find(info);
        if (fs is null) return NoInstance;
        try
        {
            if (length > int.MaxValue || (buffer is null && length != 0)) return S(NtStatus.InvalidParameter);
            var fileName = name is null ? default : MemoryMarshal.CreateReadOnlySpanFromNullTerminated(name);
            uint status = fs.ReadFile(fileName, new Span<byte>(buffer, (int)length), out int read, offset, info);
            if (readLength is not null) *readLength = (uint)read;
            return (int)status;
        }
        catch (Exception e)
        {
            return Fail(fs, e, "read", name);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int GetFileInformation(char* name, ByHandleFileInformation* information, DokanFileInfo* info)
    {
        var fs = Find(info);
        if (fs is null) return NoInstance;
        try
        {
            if (information is null) return S(NtStatus.InvalidParameter);
            return (int)fs.GetFileInformation(Text(name), information, info);
        }
        catch (Exception e)
        {
            return Fail(fs, e, "getattr", name);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int FindFiles(char* path, delegate* unmanaged[Stdcall]<Win32FindData*, DokanFileInfo*, int> fill, DokanFileInfo* info) =>
        Find(path, null, fill, info);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int FindFilesWithPattern(char* path, char* pattern, delegate* unmanaged[Stdcall]<Win32FindData*, DokanFileInfo*, int> fill,
        DokanFileInfo* info) => Find(path, pattern is null ? null : Text(pattern), fill, info);

    private static int Find(char* path, string? pattern, delegate* unmanaged[Stdcall]<Win32FindData*, DokanFileInfo*, int> fill, DokanFileInfo* info)
    {
        var fs = Find(info);
        if (fs is null) return NoInstance;
        try
        {
            if (fill is null) return S(NtStatus.InvalidParameter);
            return (int)fs.FindFiles(Text(path), pattern, new FindSink(fill, info), info);
        }
        catch (Exception e)
        {
            return Fail(fs, e, "readdir", path);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int FindStreams(char* name, delegate* unmanaged[Stdcall]<Win32FindStreamData*, void*, int> fill, void* context, DokanFileInfo* info)
    {
        var fs = Find(info);
        if (fs is null) return NoInstance;
        try
        {
            if (fill is null) return S(NtStatus.InvalidParameter);
            return (int)fs.FindStreams(Text(name), new StreamSink(fill, context), info);
        }
        catch (Exception e)
        {
            return Fail(fs, e, "streams", name);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int GetDiskFreeSpace(ulong* freeBytesAvailable, ulong* totalBytes, ulong* totalFreeBytes, DokanFileInfo* info)
    {
        var fs = Find(info);
        if (fs is null) return NoInstance;
        try
        {
            uint status = fs.GetDiskFreeSpace(out ulong available, out ulong total, out ulong free, info);
            if (freeBytesAvailable is not null) *freeBytesAvailable = available;
            if (totalBytes is not null) *totalBytes = total;
            if (totalFreeBytes is not null) *totalFreeBytes = free;
            return (int)status;
        }
        catch (Exception e)
        {
            return Fail(fs, e, "statfs", null);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int GetVolumeInformation(char* volumeName, uint volumeNameSize, uint* serialNumber, uint* maxComponentLength,
        uint* fileSystemFlags, char* fileSystemName, uint fileSystemNameSize, DokanFileInfo* info)
    {
        var fs = Find(info);
        if (fs is null) return NoInstance;
        try
        {
            var label = volumeName is null ? default : new Span<char>(volumeName, (int)Math.Min(volumeNameSize, 1024u));
            var fsName = fileSystemName is null ? default : new Span<char>(fileSystemName, (int)Math.Min(fileSystemNameSize, 1024u));
            uint status = fs.GetVolumeInformation(label, out uint serial, out uint maxComponent, out uint flags, fsName, info);
            if (serialNumber is not null) *serialNumber = serial;
            if (maxComponentLength is not null) *maxComponentLength = maxComponent;
            if (fileSystemFlags is not null) *fileSystemFlags = flags;
            return (int)status;
        }
        catch (Exception e)
        {
            return Fail(fs, e, "volume information", null);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int GetFileSecurity(char* name, uint* securityInformation, void* descriptor, uint bufferLength, uint* lengthNeeded,
        DokanFileInfo* info)
    {
        var fs = Find(info);
        if (fs is null) return NoInstance;
        try
        {
            if (securityInformation is null || lengthNeeded is null || bufferLength > int.MaxValue || (descriptor is null && bufferLength != 0))
                return S(NtStatus.InvalidParameter);
            uint status = fs.GetFileSecurity(Text(name), *securityInformation, new Span<byte>(descriptor, (int)bufferLength), out uint needed, info);
            *lengthNeeded = needed;
            return (int)status;
        }
        catch (Exception e)
        {
            return Fail(fs, e, "security", name);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int Mounted(char* mountPoint, DokanFileInfo* info)
    {
        var fs = Find(info);
        if (fs is null) return NoInstance;
        try
        {
            return (int)fs.Mounted(Text(mountPoint), info);
        }
        catch (Exception e)
        {
            return Fail(fs, e, "mounted", mountPoint);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int Unmounted(DokanFileInfo* info)
    {
        var fs = Find(info);
        if (fs is null) return NoInstance;
        try
        {
            return (int)fs.Unmounted(info);
        }
        catch (Exception e)
        {
            return Fail(fs, e, "unmounted", null);
        }
    }

    // Write operations. WRITE_PROTECT makes the driver refuse most of them before they reach user mode; these answer
    // the rest (and any that a future driver lets through) the same way.

    private static int WriteProtected => S(NtStatus.MediaWriteProtected);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int WriteFile(char* name, void* buffer, uint length, uint* written, long offset, DokanFileInfo* info)
    {
        if (written is not null) *written = 0;
        return WriteProtected;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int FlushFileBuffers(char* name, DokanFileInfo* info) => WriteProtected;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int SetFileAttributes(char* name, uint attributes, DokanFileInfo* info) => WriteProtected;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int SetFileTime(char* name, FileTime* creation, FileTime* access, FileTime* write, DokanFileInfo* info) => WriteProtected;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int DeleteFile(char* name, DokanFileInfo* info) => WriteProtected;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int DeleteDirectory(char* name, DokanFileInfo* info) => WriteProtected;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int MoveFile(char* name, char* newName, int replaceIfExisting, DokanFileInfo* info) => WriteProtected;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int SetEndOfFile(char* name, long length, DokanFileInfo* info) => WriteProtected;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int SetAllocationSize(char* name, long length, DokanFileInfo* info) => WriteProtected;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int SetFileSecurity(char* name, uint* securityInformation, void* descriptor, uint length, DokanFileInfo* info) => WriteProtected;

    // Byte-range locks change nothing on a volume nobody writes: granted, as the kernel grants them without FILELOCK_USER_MODE.

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int LockFile(char* name, long offset, long length, DokanFileInfo* info) => S(NtStatus.Success);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int UnlockFile(char* name, long offset, long length, DokanFileInfo* info) => S(NtStatus.Success);
}
