using System.Runtime.InteropServices;
using VmdkMount.Dokan.Native;

namespace VmdkMount.Dokan;

/// <summary>How the volume is presented to Windows.</summary>
public sealed record DokanSessionOptions
{
    /// <summary>The Dokan API version this binding follows (2.0.0: the oldest 2.x the library accepts).</summary>
    public const ushort ApiVersion = 200;

    /// <summary><c>M:\</c> or an empty folder on an NTFS volume.</summary>
    public required string MountPoint { get; init; }

    /// <summary>
    /// Per-request timeout. The driver unmounts when a request takes longer, so long reads from slow sources call
    /// DokanResetTimeout as they go (see DokanAdapterOptions.KeepAliveAfter).
    /// </summary>
    public uint TimeoutMilliseconds { get; init; } = 30_000;

    /// <summary>Shown in Explorer as removable media (ejectable, no indexing by default).</summary>
    public bool Removable { get; init; } = true;

    public bool DebugOutput { get; init; }

    /// <summary>
    /// WRITE_PROTECT: the driver marks the device read-only and refuses writes before user mode. ALT_STREAM: `file:stream`
    /// paths and FindStreams. MOUNT_MANAGER is only for drive letters (a folder mount is a reparse point of its own).
    /// </summary>
    public uint Flags => DokanOptionFlags.WriteProtect | DokanOptionFlags.AltStream
        | (Removable ? DokanOptionFlags.Removable : 0)
        | (IsDriveLetter(MountPoint) ? DokanOptionFlags.MountManager : 0)
        | (DebugOutput ? DokanOptionFlags.Debug | DokanOptionFlags.Stderr : 0);

    /// <summary><c>M</c>, <c>M:</c> or <c>M:\</c>.</summary>
    public static bool IsDriveLetter(string mountPoint) =>
        mountPoint.Length is >= 1 and <= 3 && char.IsAsciiLetter(mountPoint[0])
        && (mountPoint.Length == 1 || mountPoint[1] == ':') && (mountPoint.Length < 3 || mountPoint[2] == '\\');
}

/// <summary>
/// One mount's life through <see cref="INativeDokan"/>: DokanInit, DOKAN_OPTIONS and DOKAN_OPERATIONS in native memory
/// (the library keeps both pointers until DokanCloseHandle returns), DokanCreateFileSystem, wait, DokanCloseHandle,
/// and only then free and DokanShutdown.
/// </summary>
public sealed unsafe class DokanSession(INativeDokan native, IDokanFileSystem fileSystem, DokanSessionOptions options)
{
    private volatile bool _stopRequested;

    /// <summary>Mounts, calls <paramref name="mounted"/>, and blocks until the volume is unmounted; returns DokanCreateFileSystem's result.</summary>
    public int Run(Action? mounted = null)
    {
        native.Init();
        ulong context = DokanCallbacks.Register(fileSystem);
        var dokanOptions = (DokanOptions*)NativeMemory.AllocZeroed((nuint)sizeof(DokanOptions));
        var operations = (DokanOperations*)NativeMemory.AllocZeroed((nuint)sizeof(DokanOperations));
        char* mountPoint = (char*)Marshal.StringToHGlobalUni(options.MountPoint);
        try
        {
            *operations = DokanCallbacks.Table();
            dokanOptions->Version = DokanSessionOptions.ApiVersion;
            dokanOptions->Options = options.Flags;
            dokanOptions->GlobalContext = context;
            dokanOptions->MountPoint = mountPoint;
            dokanOptions->Timeout = options.TimeoutMilliseconds;
            dokanOptions->AllocationUnitSize = 4096;
            dokanOptions->SectorSize = 512;
            int result = native.CreateFileSystem(dokanOptions, operations, out nint instance);
            if (result != DokanResult.Success) return result;
            try
            {
                mounted?.Invoke();
                if (!_stopRequested) native.WaitForFileSystemClosed(instance);
            }
            finally
            {
                native.CloseHandle(instance);
            }
            return result;
        }
        finally
        {
            DokanCallbacks.Unregister(context);
            Marshal.FreeHGlobal((nint)mountPoint);
            NativeMemory.Free(operations);
            NativeMemory.Free(dokanOptions);
            native.Shutdown();
        }
    }

    /// <summary>From a Ctrl+C handler: unmounts, which ends <see cref="Run"/>'s wait.</summary>
    public void Stop()
    {
        _stopRequested = true;
        native.RemoveMountPoint(options.MountPoint);
    }
}
