using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace VmdkMount.Dokan.Native;

/// <summary>
/// dokan2.dll through source-generated P/Invoke (no runtime marshalling stubs: trimming- and AOT-safe). All entry
/// points are __stdcall, which on x64 is the platform convention.
/// </summary>
[SupportedOSPlatform("windows")]
public sealed unsafe partial class DokanLibrary : INativeDokan
{
    private const string Library = "dokan2.dll";

    /// <summary>INFINITE for DokanWaitForFileSystemClosed.</summary>
    private const uint Infinite = 0xFFFFFFFF;

    public void Init() => DokanInit();

    public void Shutdown() => DokanShutdown();

    public int CreateFileSystem(DokanOptions* options, DokanOperations* operations, out nint instance)
    {
        nint h;
        int result = DokanCreateFileSystem(options, operations, &h);
        instance = h;
        return result;
    }

    public void WaitForFileSystemClosed(nint instance) => DokanWaitForFileSystemClosed(instance, Infinite);

    public void CloseHandle(nint instance) => DokanCloseHandle(instance);

    public bool RemoveMountPoint(string mountPoint)
    {
        fixed (char* p = mountPoint) return DokanRemoveMountPoint(p) != 0;
    }

    public bool ResetTimeout(uint milliseconds, DokanFileInfo* info) => DokanResetTimeout(milliseconds, info) != 0;

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvStdcall)])]
    private static partial void DokanInit();

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvStdcall)])]
    private static partial void DokanShutdown();

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvStdcall)])]
    private static partial int DokanCreateFileSystem(DokanOptions* options, DokanOperations* operations, nint* instance);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvStdcall)])]
    private static partial uint DokanWaitForFileSystemClosed(nint instance, uint milliseconds);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvStdcall)])]
    private static partial void DokanCloseHandle(nint instance);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvStdcall)])]
    private static partial int DokanRemoveMountPoint(char* mountPoint);

    [LibraryImport(Library)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvStdcall)])]
    private static partial int DokanResetTimeout(uint timeout, DokanFileInfo* info);
}
