using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using VmdkMount.Core.Caching;
using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;
using VmdkMount.Core.Mounting.RestorePoints;
using VmdkMount.Fuse;

namespace VmdkMount.Cli.Commands;

/// <summary>
/// `vmdkmount mount DISK [DISK...] MOUNTPOINT [--disk DISK] [--volume VOL] [--raw] [--allow-other] [--cache-size 512M] [--direct-io] [--foreground] [--uid N] [--gid N]`.
/// Without --foreground the command starts itself again in a new session with --foreground (stdout and stderr going
/// to a log file in the state folder), waits until that process has mounted, prints where, and returns.
/// </summary>
internal static class MountCommand
{
    private const string ForegroundFlag = "--foreground";
    private const string ReadyFileFlag = "--ready-file";
    private const string LogFileFlag = "--log-file";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(2);

    public static Command Create()
    {
        var disks = new Argument<string[]>("DISK")
        {
            Description = CliCommon.DiskArgument().Description + "; several (before MOUNTPOINT): all disks of one VM, their volumes side by side (d1p2, d2p1, ...; LVM volume groups span them)",
            Arity = ArgumentArity.OneOrMore,
            // The parser gives a many-valued argument every token; the last one is MOUNTPOINT's, as with cp's DEST.
            CustomParser = r =>
            {
                int keep = Math.Max(1, r.Tokens.Count - 1);
                var values = r.Tokens.Take(keep).Select(t => t.Value).ToArray();
                r.OnlyTake(keep);
                return values;
            },
        };
        var moreDisks = CliCommon.DiskOption();
        var mountPoint = new Argument<string>("MOUNTPOINT") { Description = "an existing empty directory" };
        var volume = new Option<string?>("--volume") { Description = "mount only this volume (as `volumes` names it) at MOUNTPOINT" };
        var raw = new Option<bool>("--raw") { Description = "add disk.img: the whole flattened disk, read-only, sparse-aware (SEEK_DATA/SEEK_HOLE)" };
        var allowOther = new Option<bool>("--allow-other") { Description = "let other users in (non-root needs user_allow_other in /etc/fuse.conf)" };
        var cacheSize = new Option<string?>("--cache-size") { Description = "memory for all of the mount's caches together (grain tables, decompressed grains, filesystem metadata), e.g. 64M (at least 1M); default 256M. Given, it also turns on a block cache for the readers' small metadata reads, in the same budget (the kernel caches file data); 0: the default budget, no block cache" };
        var foreground = new Option<bool>(ForegroundFlag) { Description = "stay in the foreground until unmounted (Ctrl+C unmounts)" };
        var uid = new Option<uint?>("--uid") { Description = "owner of files whose filesystem records none (NTFS, FAT); default: you" };
        var gid = new Option<uint?>("--gid") { Description = "group of files whose filesystem records none (NTFS, FAT); default: yours" };
        var stateDir = StateDirOption();
        var nonEmpty = new Option<bool>("--nonempty") { Description = "mount over a folder that holds files (they are hidden until unmounted)" };
        var system = new Option<bool>("--system") { Description = "also show filesystem metafiles ($MFT, $LogFile, ...)" };
        // bench/fuse.sh showed no consistent difference between 1 and 16 on 2 vCPUs; many threads serve concurrent
        // readers and slow (network) sources better, since a worker blocked on a slow read holds no other request up.
        var threads = new Option<uint>("--threads") { Description = "FUSE worker threads (default 16; 1 runs the single-threaded loop)", DefaultValueFactory = _ => 16 };
        var directIo = new Option<bool>("--direct-io") { Description = "read files of 1 MiB and more without the kernel's page cache, 1 MiB per request: fastest for large sequential reads (restore, scan) and no double caching; slower for programs reading in small pieces, and shared mmap of a file fails (ENODEV)" };
        var debug = new Option<bool>("--debug-fuse") { Description = "print every FUSE request (libfuse -d)", Hidden = true };
        var readyFile = new Option<string?>(ReadyFileFlag) { Hidden = true };
        var logFile = new Option<string?>(LogFileFlag) { Hidden = true };
        var ignoreCid = CliCommon.IgnoreCidOption();
        var rawInput = CliCommon.RawInputOption();
        var noOffline = new Option<bool>("--no-offline") { Description = "Windows: do not mark the files of a remote-backed mount (http://, nbd://) offline (offline keeps Explorer from reading whole files for thumbnails)" };
        var restorePoints = new Option<bool>("--restore-points") { Description = "one folder per restore point (link of the chain), named by its link file without .vmdk, each holding that point's volume folders; points open when first looked into" };

        var command = new Command("mount", "mount a disk's volumes as folders (read-only, through FUSE)");
        command.Arguments.Add(disks);
        command.Arguments.Add(mountPoint);
        foreach (var o in new Option[] { moreDisks, volume, raw, allowOther, cacheSize, directIo, foreground, uid, gid, stateDir, nonEmpty, system, threads, debug, readyFile, logFile, ignoreCid, rawInput, restorePoints, noOffline })
            command.Options.Add(o);

        command.SetAction(p => CliCommon.Run(() =>
        {
            if (OperatingSystem.IsWindows()) return MountOnWindows(p, disks, moreDisks, mountPoint, volume, raw, restorePoints, noOffline, debug, system, cacheSize, ignoreCid, rawInput);
            if (p.GetValue(logFile) is { } log) DetachedStdio.RedirectTo(log);
            string mnt = Path.GetFullPath(p.GetValue(mountPoint)!).TrimEnd('/');
            if (mnt.Length == 0) throw new ArgumentException("cannot mount on /");
            // 0 keeps its old meaning, "no block cache": the readers' caches still get the default budget.
            long cacheBytes = p.GetValue(cacheSize) is { } cacheText ? ParseSize(cacheText) : 0;
            if (cacheBytes is > 0 and < MinCacheBytes)
                throw new ArgumentException($"--cache-size: {cacheBytes} bytes is too small for the caches of a mount (0, or at least 1M)");
            var budget = new CacheBudget(cacheBytes == 0 ? CacheBudget.DefaultBytes : cacheBytes);
            if (p.GetValue(raw) && p.GetValue(volume) is not null)
                throw new ArgumentException("--raw adds disk.img beside the volume folders; it cannot be combined with --volume");
            var sources = CliCommon.Disks(p.GetValue(disks)!, p.GetValue(moreDisks));
            if (p.GetValue(raw) && sources.Count > 1)
                throw new ArgumentException("--raw shows one disk as disk.img; mount each disk on its own for its raw image");
            var state = MountState.Open(p.GetValue(stateDir));
            PrepareMountPoint(mnt, state, p.GetValue(nonEmpty));
            if (!p.GetValue(foreground)) return Detach(state, mnt);

            var diskOptions = CliCommon.DiskOptions(p, ignoreCid, rawInput) with { Cache = budget, BlockCache = cacheBytes > 0 ? true : null };
            var fsOptions = new FileSystemOptions { ShowSystemFiles = p.GetValue(system), Cache = budget };
            if (p.GetValue(restorePoints) && sources.Count > 1)
                throw new ArgumentException("--restore-points mounts the points of one chain: give one DISK");
            using var points = p.GetValue(restorePoints) ? RestorePointSet.Open(sources[0], diskOptions, fsOptions) : null;
            using var mounted = points is null ? MountedDisk.Open(sources, diskOptions, fsOptions) : null;
            void Log(string line) => Console.Error.WriteLine($"vmdkmount: {line}");
            var tree = points is not null
                ? new MountTree(points, new MountTreeOptions { SingleVolume = p.GetValue(volume), RawImage = p.GetValue(raw) }, Log)
                : new MountTree(mounted!, new MountTreeOptions { SingleVolume = p.GetValue(volume), RawImage = p.GetValue(raw) }, Log);
            if (points is null && tree.Options.SingleVolume is null && !tree.Options.RawImage && !tree.Volumes.Any(v => v.Mountable))
                throw new ArgumentException($"{Names(mounted!)}: no mountable volume ({Describe(tree)}); --raw mounts the whole disk as disk.img");
            var first = points?.Chain ?? mounted!.Disk;
            string names = points is not null ? points.Chain.Source : Names(mounted!);
            string shape = points is not null ? $"{points.Count} restore points" : Describe(tree);
            var options = new FuseMountOptions
            {
                MountPoint = mnt,
                FsName = "vmdk:" + Path.GetFileName(first.Source),
                AllowOther = p.GetValue(allowOther),
                Uid = p.GetValue(uid),
                Gid = p.GetValue(gid),
                Debug = p.GetValue(debug),
                MaxThreads = Math.Max(1u, p.GetValue(threads)),
                DirectIo = p.GetValue(directIo),
            };
            FuseSession session;
            try
            {
                session = FuseSession.Mount(new FuseAdapter(tree, options, Log), options);
            }
            catch (FuseMountException e)
            {
                Console.Error.WriteLine($"vmdkmount: {e.Message}");
                return ExitCodes.Usage;
            }
            using (session)
            using (session.HandleSignals())
            {
                int pid = Environment.ProcessId;
                static string Where(IVirtualDisk d) => d.Source.Contains("://", StringComparison.Ordinal) ? d.Source : Path.GetFullPath(d.Source);
                state.Write(new MountRecord
                {
                    Pid = pid, ProcessStart = MountState.ProcessStartTime(pid) ?? 0, MountPoint = mnt,
                    Disk = Where(first), Disks = mounted is not null ? [.. mounted.Disks.Select(Where)] : [Where(first)],
                    Started = DateTime.UtcNow, Log = p.GetValue(logFile),
                });
                try
                {
                    Console.WriteLine($"vmdkmount: {names} mounted at {mnt} ({shape}); unmount with: vmdkmount unmount {mnt}");
                    Console.Out.Flush();
                    if (p.GetValue(readyFile) is { } ready) File.WriteAllText(ready, pid.ToString(CultureInfo.InvariantCulture));
                    int rc = session.Run();
                    Console.Error.WriteLine($"vmdkmount: {mnt} unmounted");
                    return rc == 0 ? ExitCodes.Ok : ExitCodes.Problems;
                }
                finally
                {
                    state.Remove(mnt, pid);
                }
            }
        }));
        return command;
    }

    /// <summary>Windows: the Dokan frontend over the same model, in the foreground (no setsid, no FUSE state folder).</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("windows")]
    private static int MountOnWindows(ParseResult p, Argument<string[]> disks, Option<string[]> moreDisks, Argument<string> mountPoint,
        Option<string?> volume, Option<bool> raw, Option<bool> restorePoints, Option<bool> noOffline, Option<bool> debug, Option<bool> system,
        Option<string?> cacheSize, Option<bool> ignoreCid, Option<bool> rawInput)
    {
        long cacheBytes = p.GetValue(cacheSize) is { } cacheText ? ParseSize(cacheText) : 0;
        if (cacheBytes is > 0 and < MinCacheBytes)
            throw new ArgumentException($"--cache-size: {cacheBytes} bytes is too small for the caches of a mount (0, or at least 1M)");
        var budget = new CacheBudget(cacheBytes == 0 ? CacheBudget.DefaultBytes : cacheBytes);
        if (p.GetValue(raw) && p.GetValue(volume) is not null)
            throw new ArgumentException("--raw adds disk.img beside the volume folders; it cannot be combined with --volume");
        var sources = CliCommon.Disks(p.GetValue(disks)!, p.GetValue(moreDisks));
        var diskOptions = CliCommon.DiskOptions(p, ignoreCid, rawInput) with { Cache = budget, BlockCache = cacheBytes > 0 ? true : null };
        var fsOptions = new FileSystemOptions { ShowSystemFiles = p.GetValue(system), Cache = budget };
        return WindowsMount.Run(new WindowsMountRequest(sources, p.GetValue(mountPoint)!, p.GetValue(volume), p.GetValue(raw),
            p.GetValue(restorePoints), p.GetValue(noOffline), p.GetValue(debug), diskOptions, fsOptions));
    }

    internal static Option<string?> StateDirOption() => new("--state-dir")
    {
        Description = $"folder that records running mounts (default /run/vmdkmount as root, else $XDG_RUNTIME_DIR/vmdkmount; env {MountState.EnvironmentVariable})",
    };

    private static string Names(MountedDisk mounted) => string.Join(" + ", mounted.Disks.Select(d => d.Source));

    private static string Describe(MountTree tree)
    {
        if (tree.Options.SingleVolume is { } single) return "volume " + single;
        var parts = tree.Volumes.Select(v => v.Mountable ? $"{v.Id} {v.FileSystem}" : $"{v.Id} skipped: {v.Reason}").ToList();
        if (tree.Options.RawImage) parts.Add(MountTree.DiskImageName);
        return string.Join(", ", parts);
    }

    /// <summary>A dead mount left by a crash is detached first; a live one is an error.</summary>
    private static void PrepareMountPoint(string mnt, MountState state, bool nonEmpty)
    {
        if (MountTable.IsDead(mnt))
        {
            Console.Error.WriteLine($"vmdkmount: {mnt}: removing a dead mount left behind by a crashed process");
            FuseSession.LazyUnmount(mnt);
            state.Remove(mnt);
        }
        if (File.Exists(mnt)) throw new ArgumentException($"{mnt}: is a file, not a folder: mount on an empty directory");
        if (!Directory.Exists(mnt)) throw new ArgumentException($"{mnt}: mount point does not exist (create an empty directory)");
        if (MountTable.Find(mnt) is { } e && e.FsType == MountTable.OurFsType)
            throw new ArgumentException($"{mnt}: already mounted ({e.Source}); vmdkmount unmount {mnt} first");
        if (!nonEmpty && MountTable.Find(mnt) is null && Directory.EnumerateFileSystemEntries(mnt).Any())
            throw new ArgumentException($"{mnt}: is not empty: its files would be hidden while the backup is mounted; --nonempty mounts over them");
    }

    /// <summary>Starts `... mount --foreground` in its own session and waits until it has mounted.</summary>
    private static int Detach(MountState state, string mnt)
    {
        string ready = Path.Combine(state.Directory, $"ready-{Guid.NewGuid():N}");
        string log = state.LogPath(mnt);
        File.WriteAllText(log, "");
        var psi = new ProcessStartInfo(Setsid())
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.ArgumentList.Add("--wait");
        psi.ArgumentList.Add(Environment.ProcessPath!);
        // under `dotnet vmdkmount.dll` the child needs the assembly; a native build is its own executable
        if (IsDotnetHost()) psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, typeof(MountCommand).Assembly.GetName().Name + ".dll"));
        foreach (var a in Environment.GetCommandLineArgs().Skip(1)) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(ForegroundFlag);
        psi.ArgumentList.Add(ReadyFileFlag);
        psi.ArgumentList.Add(ready);
        psi.ArgumentList.Add(LogFileFlag);
        psi.ArgumentList.Add(log);
        using var child = Process.Start(psi) ?? throw new IOException("cannot start the mount process");
        // The child points its stdio at the log at once; dropping our ends keeps no caller's pipe open through it.
        child.StandardInput.Close();
        child.StandardOutput.Close();
        child.StandardError.Close();
        var deadline = DateTime.UtcNow + ReadyTimeout;
        try
        {
            while (DateTime.UtcNow < deadline)
            {
                if (File.Exists(ready) && File.ReadAllText(ready) is { Length: > 0 } pid)
                {
                    File.Delete(ready);
                    Console.Write(ReadLog(log));
                    Console.WriteLine($"vmdkmount: serving process {pid}; log: {log}");
                    return ExitCodes.Ok;
                }
                if (child.WaitForExit(10))
                {
                    Console.Error.Write(ReadLog(log));
                    File.Delete(log);
                    return child.ExitCode == 0 ? ExitCodes.Usage : child.ExitCode;
                }
            }
            Console.Error.Write(ReadLog(log));
            Console.Error.WriteLine($"vmdkmount: the mount process did not become ready in {ReadyTimeout.TotalSeconds} s; stopping it");
            child.Kill();
            return ExitCodes.Usage;
        }
        finally
        {
            File.Delete(ready);
        }
    }

    private static string ReadLog(string path)
    {
        try { return File.ReadAllText(path); }
        catch (IOException) { return ""; }
    }

    /// <summary>setsid(1) from PATH, else where util-linux puts it: mount(8) may run its helpers without a PATH.</summary>
    private static string Setsid()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin").Append("/bin"))
            if (File.Exists(Path.Combine(dir, "setsid"))) return Path.Combine(dir, "setsid");
        throw new IOException("cannot start the mount process: setsid (util-linux) not found");
    }

    private static bool IsDotnetHost() =>
        Path.GetFileNameWithoutExtension(Environment.ProcessPath ?? "").Equals("dotnet", StringComparison.Ordinal);

    private const long MinCacheBytes = 1L << 20;

    /// <summary>`512M`, `2G`, `65536`: bytes.</summary>
    internal static long ParseSize(string text)
    {
        string t = text.Trim().ToUpperInvariant();
        long unit = 1;
        if (t.EndsWith('B')) t = t[..^1];
        if (t.EndsWith('K')) { unit = 1L << 10; t = t[..^1]; }
        else if (t.EndsWith('M')) { unit = 1L << 20; t = t[..^1]; }
        else if (t.EndsWith('G')) { unit = 1L << 30; t = t[..^1]; }
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n < 0 || n > long.MaxValue / unit)
            throw new ArgumentException($"--cache-size: '{text}' is not a size like 512M");
        return n * unit;
    }
}
