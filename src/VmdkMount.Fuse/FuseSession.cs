using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using VmdkMount.Fuse.Native;

namespace VmdkMount.Fuse;

/// <summary>Mounting failed (bad mount point, no /dev/fuse, libfuse missing...).</summary>
public sealed class FuseMountException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// One libfuse low-level session: created and mounted by <see cref="Mount"/>, served by <see cref="Run"/> until
/// unmounted, torn down by <see cref="Dispose"/>.
///
/// Stopping: `fuse_session_exit` only sets a flag, and libfuse's own signal handlers are
/// never installed under .NET (the runtime already owns SIGINT/SIGTERM). So <see cref="RequestStop"/> sets the flag
/// and lazily unmounts; the kernel then aborts the connection and the loop returns. <see cref="HandleSignals"/> wires
/// SIGINT, SIGTERM and SIGHUP to it through PosixSignalRegistration.
/// </summary>
public sealed unsafe class FuseSession : IDisposable
{
    private readonly FuseAdapter _adapter;
    private readonly FuseMountOptions _options;
    private GCHandle _self;
    private FuseArgs* _args;
    private nint _session;
    private int _stopRequested;
    private int _loopEnded;
    private bool _mounted;

    private FuseSession(FuseAdapter adapter, FuseMountOptions options)
    {
        _adapter = adapter;
        _options = options;
        MountPoint = Path.GetFullPath(options.MountPoint).TrimEnd('/');
        if (MountPoint.Length == 0) MountPoint = "/";
    }

    public string MountPoint { get; }

    /// <summary>Creates the session and mounts it; requests queue in the kernel until <see cref="Run"/>.</summary>
    public static FuseSession Mount(FuseAdapter adapter, FuseMountOptions options)
    {
        var session = new FuseSession(adapter, options);
        try
        {
            session.Create();
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private void Create()
    {
        if (!OperatingSystem.IsLinux()) throw new FuseMountException("FUSE mounts need Linux");
        try
        {
            _ = FuseCompat.Version;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            throw new FuseMountException($"cannot load {FuseLowLevel.Library} (install the fuse3 package)", e);
        }
        var opts = new StringBuilder("ro,default_permissions,subtype=vmdkmount,fsname=");
        // A comma would split the option list; fsname is informational only.
        opts.Append(_options.FsName.Replace(',', '_'));
        if (_options.AllowOther) opts.Append(",allow_other");
        if (_options.AutoUnmount) opts.Append(",auto_unmount");
        var argv = new List<string> { "vmdkmount", "-o", opts.ToString() };
        if (_options.Debug) argv.Add("-d");

        _args = (FuseArgs*)NativeMemory.AllocZeroed((nuint)sizeof(FuseArgs));
        _args->Argc = argv.Count;
        _args->Argv = (byte**)NativeMemory.AllocZeroed((nuint)(argv.Count + 1), (nuint)sizeof(nint));
        for (int i = 0; i < argv.Count; i++) _args->Argv[i] = Utf8(argv[i]);
        var original = _args->Argv;

        _self = GCHandle.Alloc(_adapter);
        _session = FuseLowLevel.SessionNew(_args, FuseCallbacks.Table, FuseCallbacks.TableSize, (void*)GCHandle.ToIntPtr(_self));
        // fuse_opt_parse replaced argv with its own copy (ours has allocated = 0, so it was not freed): free both.
        if (_args->Argv != original) FuseLowLevel.OptFreeArgs(_args);
        for (int i = 0; i < argv.Count; i++) NativeMemory.Free(original[i]);
        NativeMemory.Free(original);
        _args->Argv = null;
        _args->Argc = 0;
        if (_session == 0) throw new FuseMountException("libfuse refused the session options (see the message above)");
        _adapter.StoreAhead.Attach(_session);

        var socketsBefore = _options.AutoUnmount ? UnixSocketFds() : [];
        byte* mnt = Utf8(MountPoint);
        try
        {
            if (FuseLowLevel.SessionMount(_session, mnt) != 0)
                throw new FuseMountException($"cannot mount at {MountPoint} (see the message above)");
        }
        finally
        {
            NativeMemory.Free(mnt);
        }
        _mounted = true;
        if (_options.AutoUnmount) MoveAutoUnmountSocket(socketsBefore, FuseLowLevel.SessionFd(_session));
    }

    /// <summary>
    /// A new FUSE mount reads ahead 128 KiB at a time (the kernel's default for a new backing device, and the INIT
    /// reply can only lower it), so cached reads would arrive as 256 KiB requests although 1 MiB ones are negotiated.
    /// Root may raise it through sysfs once INIT is done (to a window of several such requests) (the adapter does it on the first open); anyone else keeps
    /// the default. The mount table gives the device number: stat of the mount point would ask this very process.
    /// </summary>
    internal static void RaiseReadahead(string mountPoint)
    {
        // 4 MiB, not just MaxRead: the kernel keeps several 1 MiB reads in flight only when its window spans them, so
        // a sequential reader no longer waits a request round trip per MiB (bench/seq.sh).
        const int ReadaheadKiB = 4096;
        if (MountTable.Find(mountPoint) is not { Device.Length: > 0 } entry) return;
        try
        {
            File.WriteAllText($"/sys/class/bdi/{entry.Device}/read_ahead_kb", ReadaheadKiB.ToString(CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not root (or no sysfs): 128 KiB readahead still works.
        }
    }

    /// <summary>
    /// With auto_unmount, libfuse keeps its end of the socket to the fusermount3 helper open (by design, never closed,
    /// not close-on-exec). Two things go wrong with it as libfuse leaves it:
    /// (1) every program this process starts inherits it, and the helper waits for them all to exit;
    /// (2) it has a lower number than the /dev/fuse descriptor, and a killed process's descriptors are closed in
    /// ascending order, so the helper wakes while the connection is still alive, finds the mount answering (not
    /// ENOTCONN), and leaves it mounted and dead a moment later (seen with kill -9).
    /// So the new socket moves above the /dev/fuse descriptor, close-on-exec. libfuse never uses it again by number.
    /// </summary>
    private static void MoveAutoUnmountSocket(HashSet<int> before, int fuseFd)
    {
        if (fuseFd < 0) return;
        foreach (int fd in UnixSocketFds())
        {
            if (before.Contains(fd)) continue;
            int moved = LibC.Fcntl(fd, LibC.FDupFdCloexec, fuseFd + 1);
            if (moved >= 0) LibC.Close(fd);
        }
    }

    private static HashSet<int> UnixSocketFds()
    {
        var result = new HashSet<int>();
        try
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
            {
                if (!int.TryParse(Path.GetFileName(entry), out int fd)) continue;
                try
                {
                    if (new FileInfo(entry).LinkTarget is { } target && target.StartsWith("socket:", StringComparison.Ordinal)) result.Add(fd);
                }
                catch (IOException)
                {
                    // The descriptor closed while listing.
                }
            }
        }
        catch (IOException)
        {
        }
        return result;
    }

    /// <summary>Serves requests until the file system is unmounted or <see cref="RequestStop"/>; returns libfuse's result.</summary>
    public int Run()
    {
        try
        {
            return _options.MaxThreads <= 1 ? FuseLowLevel.SessionLoop(_session) : FuseLoopBinding.Run(_session, _options.MaxThreads);
        }
        finally
        {
            Volatile.Write(ref _loopEnded, 1);
        }
    }

    /// <summary>How long a stop may wait for the kernel to end the connection before it is aborted.</summary>
    public static readonly TimeSpan AbortAfter = TimeSpan.FromSeconds(3);

    /// <summary>Ends <see cref="Run"/>: sets the exit flag and detaches the mount. Safe from any thread, more than once.</summary>
    public void RequestStop()
    {
        if (Interlocked.Exchange(ref _stopRequested, 1) != 0 || _session == 0) return;
        string? device = MountTable.Find(MountPoint)?.Device;
        FuseLowLevel.SessionExit(_session);
        LazyUnmount(MountPoint);
        // A lazy detach ends the connection only when the last reference to the mount goes; a process that still
        // holds a file open in it (a scanner, a shell's cwd) would keep the loop, and this command, waiting forever.
        if (device is { Length: > 0 }) _ = Task.Delay(AbortAfter).ContinueWith(_ => AbortIfRunning(device), TaskScheduler.Default);
    }

    private void AbortIfRunning(string device)
    {
        if (Volatile.Read(ref _loopEnded) != 0) return;
        int colon = device.IndexOf(':');
        if (colon < 0 || !uint.TryParse(device.AsSpan(0, colon), out uint major) || !uint.TryParse(device.AsSpan(colon + 1), out uint minor)) return;
        // The kernel names a connection by its superblock's dev_t in the kernel's encoding (major << 20 | minor).
        uint connection = (major << 20) | minor;
        const string control = "/sys/fs/fuse/connections";
        try
        {
            if (Directory.Exists(control) && !Directory.EnumerateFileSystemEntries(control).Any() && LibC.GetEuid() == 0)
                LibC.Mount("fusectl", control, "fusectl", 0, 0);
            File.WriteAllText($"{control}/{connection.ToString(CultureInfo.InvariantCulture)}/abort", "1");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not root, or fusectl not mounted: the lazy detach still ends the loop once the mount is let go.
        }
    }

    /// <summary>SIGINT, SIGTERM and SIGHUP stop the session cleanly instead of killing the process.</summary>
    public IDisposable HandleSignals()
    {
        var registrations = new List<PosixSignalRegistration>();
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP })
            registrations.Add(PosixSignalRegistration.Create(signal, ctx =>
            {
                ctx.Cancel = true;
                RequestStop();
            }));
        return new Registrations(registrations);
    }

    /// <summary>Detaches a mount now even if busy (`umount2(MNT_DETACH)` as root, else `fusermount3 -u -z`).</summary>
    public static bool LazyUnmount(string mountPoint) => Unmount(mountPoint, lazy: true, out _);

    /// <summary>Unmounts; <paramref name="lazy"/> detaches even when busy. <paramref name="error"/> says why not.</summary>
    public static bool Unmount(string mountPoint, bool lazy, out string? error)
    {
        error = null;
        if (LibC.GetEuid() == 0)
        {
            if (LibC.Umount2(mountPoint, lazy ? LibC.MntDetach : 0) == 0) return true;
            error = Marshal.GetLastPInvokeErrorMessage();
            return false;
        }
        try
        {
            var psi = new ProcessStartInfo("fusermount3") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add("-u");
            if (lazy) psi.ArgumentList.Add("-z");
            psi.ArgumentList.Add(mountPoint);
            using var p = Process.Start(psi)!;
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode == 0) return true;
            error = stderr.Trim();
            return false;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            error = "cannot run fusermount3: " + e.Message;
            return false;
        }
    }

    public void Dispose()
    {
        if (_session != 0)
        {
            _adapter.StoreAhead.Attach(0);
            if (_mounted) FuseLowLevel.SessionUnmount(_session);
            FuseLowLevel.SessionDestroy(_session);
            _session = 0;
        }
        if (_args is not null)
        {
            NativeMemory.Free(_args);
            _args = null;
        }
        if (_self.IsAllocated) _self.Free();
    }

    private static byte* Utf8(string s)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        var p = (byte*)NativeMemory.Alloc((nuint)n + 1);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, n));
        p[n] = 0;
        return p;
    }

    private sealed class Registrations(List<PosixSignalRegistration> items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var r in items) r.Dispose();
        }
    }
}
