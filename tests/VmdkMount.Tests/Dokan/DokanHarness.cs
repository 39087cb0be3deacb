using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using VmdkMount.Dokan;
using VmdkMount.Dokan.Native;

namespace VmdkMount.Tests.Dokan;

/// <summary>
/// Plays the Dokan library on Linux: DOKAN_OPTIONS and DOKAN_FILE_INFO in native memory, and every request made by
/// calling the function pointers of the operations table the binding hands to dokan2.dll, so what runs is exactly
/// what Windows would run, from the [UnmanagedCallersOnly] entry points down.
/// </summary>
internal sealed unsafe class DokanHarness : IDisposable
{
    public const uint GenericRead = 0x80000000, FileReadData = 0x1, FileReadAttributes = 0x80, Synchronize = 0x100000;
    public const uint ReadAccess = GenericRead | Synchronize;

    private readonly DokanOptions* _options;
    private readonly ulong _context;
    private readonly DokanOperations _ops = DokanCallbacks.Table();

    public DokanHarness(IDokanFileSystem fs)
    {
        _context = DokanCallbacks.Register(fs);
        _options = (DokanOptions*)NativeMemory.AllocZeroed((nuint)sizeof(DokanOptions));
        _options->GlobalContext = _context;
    }

    /// <summary>A handle as Dokan keeps one: its DOKAN_FILE_INFO, in native memory.</summary>
    public sealed class Handle(DokanFileInfo* info, string path) : IDisposable
    {
        public DokanFileInfo* Info { get; } = info;
        public string Path { get; } = path;
        public bool IsDirectory => Info->IsDirectory != 0;
        public void Dispose() => NativeMemory.Free(Info);
    }

    public DokanFileInfo* NewInfo()
    {
        var info = (DokanFileInfo*)NativeMemory.AllocZeroed((nuint)sizeof(DokanFileInfo));
        info->DokanOptions = _options;
        return info;
    }

    public uint Create(string path, out Handle handle, uint access = ReadAccess, uint disposition = DokanAdapter.FileOpen, uint options = 0)
    {
        var info = NewInfo();
        handle = new Handle(info, path);
        fixed (char* p = path)
            return (uint)((delegate* unmanaged[Stdcall]<char*, void*, uint, uint, uint, uint, uint, DokanFileInfo*, int>)_ops.ZwCreateFile)(
                p, null, access, 0, 7, disposition, options, info);
    }

    /// <summary>Open, then Cleanup and CloseFile as Dokan does when the handle is closed; the status of the open.</summary>
    public uint Probe(string path, uint access = ReadAccess, uint disposition = DokanAdapter.FileOpen, uint options = 0)
    {
        uint status = Create(path, out var h, access, disposition, options);
        Close(h);
        return status;
    }

    public void Close(Handle h)
    {
        fixed (char* p = h.Path)
        {
            ((delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, void>)_ops.Cleanup)(p, h.Info);
            ((delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, void>)_ops.CloseFile)(p, h.Info);
        }
        h.Dispose();
    }

    public uint Read(Handle h, long offset, byte[] buffer, out uint read)
    {
        uint n;
        int status;
        fixed (char* p = h.Path)
        fixed (byte* b = buffer)
            status = ((delegate* unmanaged[Stdcall]<char*, void*, uint, uint*, long, DokanFileInfo*, int>)_ops.ReadFile)(
                p, b, (uint)buffer.Length, &n, offset, h.Info);
        read = n;
        return (uint)status;
    }

    /// <summary>The whole file (or stream) through ReadFile in requests of <paramref name="request"/> bytes.</summary>
    public byte[] ReadAll(string path, int request = 64 * 1024)
    {
        uint status = Create(path, out var h);
        if (status != NtStatus.Success) throw new InvalidOperationException($"open {path}: 0x{status:X8}");
        try
        {
            var result = new MemoryStream();
            var buffer = new byte[request];
            for (long at = 0; ; at += buffer.Length)
            {
                status = Read(h, at, buffer, out uint n);
                if (status != NtStatus.Success) throw new InvalidOperationException($"read {path}@{at}: 0x{status:X8}");
                result.Write(buffer, 0, (int)n);
                if (n < buffer.Length) break;
            }
            return result.ToArray();
        }
        finally
        {
            Close(h);
        }
    }

    public uint Info(string path, out ByHandleFileInformation info)
    {
        uint status = Create(path, out var h);
        ByHandleFileInformation i = default;
        if (status == NtStatus.Success)
            fixed (char* p = path)
                status = (uint)((delegate* unmanaged[Stdcall]<char*, ByHandleFileInformation*, DokanFileInfo*, int>)_ops.GetFileInformation)(p, &i, h.Info);
        info = i;
        Close(h);
        return status;
    }

    public sealed record Entry(string Name, uint Attributes, long Size, long Created, long Accessed, long Written, string AlternateName);

    [ThreadStatic] private static List<Entry>? _found;
    [ThreadStatic] private static List<(string Name, long Size)>? _streams;
    [ThreadStatic] private static int _stopAfter;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int FillFind(Win32FindData* d, DokanFileInfo* info)
    {
        _found!.Add(new Entry(new string((char*)d->FileName), d->FileAttributes, (long)(((ulong)d->FileSizeHigh << 32) | d->FileSizeLow),
            d->CreationTime.Ticks, d->LastAccessTime.Ticks, d->LastWriteTime.Ticks, new string((char*)d->AlternateFileName)));
        return 0;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvStdcall)])]
    private static int FillStream(Win32FindStreamData* d, void* context)
    {
        _streams!.Add((new string((char*)d->StreamName), d->StreamSize));
        return _streams.Count >= _stopAfter ? 0 : 1; // FALSE: "buffer full"
    }

    /// <summary>FindFiles (pattern null) or FindFilesWithPattern on an opened folder, as Dokan calls them.</summary>
    public uint List(string path, string? pattern, out List<Entry> entries)
    {
        entries = _found = [];
        uint status = Create(path, out var h);
        if (status != NtStatus.Success) { h.Dispose(); return status; }
        var fill = (delegate* unmanaged[Stdcall]<Win32FindData*, DokanFileInfo*, int>)&FillFind;
        fixed (char* p = path)
        fixed (char* pat = pattern)
            status = pattern is null
                ? (uint)((delegate* unmanaged[Stdcall]<char*, delegate* unmanaged[Stdcall]<Win32FindData*, DokanFileInfo*, int>, DokanFileInfo*, int>)_ops.FindFiles)(p, fill, h.Info)
                : (uint)((delegate* unmanaged[Stdcall]<char*, char*, delegate* unmanaged[Stdcall]<Win32FindData*, DokanFileInfo*, int>, DokanFileInfo*, int>)_ops.FindFilesWithPattern)(p, pat, fill, h.Info);
        Close(h);
        return status;
    }

    public List<string> Names(string path, string? pattern = null)
    {
        uint status = List(path, pattern, out var entries);
        if (status != NtStatus.Success) throw new InvalidOperationException($"list {path}: 0x{status:X8}");
        return entries.Select(e => e.Name).ToList();
    }

    public uint Streams(string path, out List<(string Name, long Size)> streams, int stopAfter = int.MaxValue)
    {
        streams = _streams = [];
        _stopAfter = stopAfter;
        uint status = Create(path, out var h);
        if (status != NtStatus.Success) { h.Dispose(); return status; }
        fixed (char* p = path)
            status = (uint)((delegate* unmanaged[Stdcall]<char*, delegate* unmanaged[Stdcall]<Win32FindStreamData*, void*, int>, void*, DokanFileInfo*, int>)_ops.FindStreams)(
                p, &FillStream, null, h.Info);
        Close(h);
        return status;
    }

    public uint Security(string path, uint securityInformation, int bufferLength, out byte[] descriptor, out uint needed)
    {
        uint status = Create(path, out var h);
        descriptor = new byte[bufferLength];
        uint n = 0;
        if (status == NtStatus.Success)
            fixed (char* p = path)
            fixed (byte* b = descriptor)
                status = (uint)((delegate* unmanaged[Stdcall]<char*, uint*, void*, uint, uint*, DokanFileInfo*, int>)_ops.GetFileSecurity)(
                    p, &securityInformation, b, (uint)bufferLength, &n, h.Info);
        needed = n;
        Close(h);
        return status;
    }

    public uint Volume(out string label, out uint serial, out uint maxComponent, out uint flags, out string fsName)
    {
        char* name = stackalloc char[33];
        char* fs = stackalloc char[11];
        uint s, m, f;
        var info = NewInfo();
        uint status = (uint)((delegate* unmanaged[Stdcall]<char*, uint, uint*, uint*, uint*, char*, uint, DokanFileInfo*, int>)_ops.GetVolumeInformation)(
            name, 33, &s, &m, &f, fs, 11, info);
        NativeMemory.Free(info);
        label = new string(name);
        fsName = new string(fs);
        serial = s;
        maxComponent = m;
        flags = f;
        return status;
    }

    public uint DiskFree(out ulong available, out ulong total, out ulong free)
    {
        ulong a, t, f;
        var info = NewInfo();
        uint status = (uint)((delegate* unmanaged[Stdcall]<ulong*, ulong*, ulong*, DokanFileInfo*, int>)_ops.GetDiskFreeSpace)(&a, &t, &f, info);
        NativeMemory.Free(info);
        (available, total, free) = (a, t, f);
        return status;
    }

    /// <summary>Calls one of the write operations' slots with a fresh handle-less info; their status.</summary>
    public uint WriteOperation(string name)
    {
        var info = NewInfo();
        try
        {
            fixed (char* p = @"\x")
            {
                byte* buffer = stackalloc byte[4];
                uint written;
                FileTime t = default;
                return name switch
                {
                    "WriteFile" => (uint)((delegate* unmanaged[Stdcall]<char*, void*, uint, uint*, long, DokanFileInfo*, int>)_ops.WriteFile)(p, buffer, 4, &written, 0, info),
                    "FlushFileBuffers" => (uint)((delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, int>)_ops.FlushFileBuffers)(p, info),
                    "SetFileAttributes" => (uint)((delegate* unmanaged[Stdcall]<char*, uint, DokanFileInfo*, int>)_ops.SetFileAttributes)(p, 0x80, info),
                    "SetFileTime" => (uint)((delegate* unmanaged[Stdcall]<char*, FileTime*, FileTime*, FileTime*, DokanFileInfo*, int>)_ops.SetFileTime)(p, &t, &t, &t, info),
                    "DeleteFile" => (uint)((delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, int>)_ops.DeleteFile)(p, info),
                    "DeleteDirectory" => (uint)((delegate* unmanaged[Stdcall]<char*, DokanFileInfo*, int>)_ops.DeleteDirectory)(p, info),
                    "MoveFile" => (uint)((delegate* unmanaged[Stdcall]<char*, char*, int, DokanFileInfo*, int>)_ops.MoveFile)(p, p, 1, info),
                    "SetEndOfFile" => (uint)((delegate* unmanaged[Stdcall]<char*, long, DokanFileInfo*, int>)_ops.SetEndOfFile)(p, 0, info),
                    "SetAllocationSize" => (uint)((delegate* unmanaged[Stdcall]<char*, long, DokanFileInfo*, int>)_ops.SetAllocationSize)(p, 0, info),
                    "SetFileSecurity" => (uint)((delegate* unmanaged[Stdcall]<char*, uint*, void*, uint, DokanFileInfo*, int>)_ops.SetFileSecurity)(p, null, buffer, 4, info),
                    _ => throw new ArgumentException(name),
                };
            }
        }
        finally
        {
            NativeMemory.Free(info);
        }
    }

    public void Dispose()
    {
        DokanCallbacks.Unregister(_context);
        NativeMemory.Free(_options);
    }
}
