using System.Runtime.Versioning;
using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;
using VmdkMount.Core.Mounting.RestorePoints;
using VmdkMount.Core.Volumes;
using VmdkMount.Dokan;
using VmdkMount.Dokan.Native;

namespace VmdkMount.Cli.Commands;

/// <summary>What `mount` was asked, as the Windows frontend needs it.</summary>
internal sealed record WindowsMountRequest(
    IReadOnlyList<string> Sources, string MountPoint, string? SingleVolume, bool RawImage, bool RestorePoints, bool NoOffline, bool Debug,
    DiskOpenOptions DiskOptions, FileSystemOptions FsOptions);

/// <summary>
/// `mount` on Windows: the same mount model as FUSE, served through Dokan 2 (dokan2.dll) on a drive letter (`M:`)
/// or an empty NTFS folder. It stays in the foreground; Ctrl+C unmounts. Stale mounts left by a crashed instance are
/// removed first. Compiled and unit-tested on Linux with a fake of dokan2.dll; not yet run on Windows.
/// </summary>
[SupportedOSPlatform("windows")]
internal static class WindowsMount
{
    public static int Run(WindowsMountRequest r)
    {
        static void Log(string line) => Console.Error.WriteLine($"vmdkmount: {line}");
        string mnt = DokanSessionOptions.IsDriveLetter(r.MountPoint)
            ? char.ToUpperInvariant(r.MountPoint[0]) + @":\"
            : Path.GetFullPath(r.MountPoint).TrimEnd('\\');
        var native = new DokanLibrary();
        var state = new DokanMountState(DokanMountState.DefaultDirectory());
        state.CleanStale(native, Log);
        if (r.RestorePoints && r.Sources.Count > 1)
            throw new ArgumentException("--restore-points mounts the points of one chain: give one DISK");
        using var points = r.RestorePoints ? RestorePointSet.Open(r.Sources[0], r.DiskOptions, r.FsOptions) : null;
        using var mounted = points is null ? MountedDisk.Open(r.Sources, r.DiskOptions, r.FsOptions) : null;
        var treeOptions = new MountTreeOptions { SingleVolume = r.SingleVolume, RawImage = r.RawImage };
        var tree = points is not null ? new MountTree(points, treeOptions, Log) : new MountTree(mounted!, treeOptions, Log);
        int build = WindowsRules.CurrentBuild();
        foreach (var v in tree.Volumes)
            if (WindowsRules.SkipReason(v, build) is { } why && (r.SingleVolume is null || r.SingleVolume == v.Id))
                Log($"{v.Id}: not shown: {why}");
        if (points is null && r.SingleVolume is null && !r.RawImage && !tree.Volumes.Any(v => v.Mountable))
            throw new ArgumentException("no mountable volume; --raw mounts the whole disk as disk.img");
        var first = points?.Chain ?? mounted!.Disk;
        bool remote = r.Sources.Any(s => s.Contains("://", StringComparison.Ordinal));
        var adapter = new DokanAdapter(tree, native, new DokanAdapterOptions { OfflineFiles = remote && !r.NoOffline }, Log);
        var session = new DokanSession(native, adapter, new DokanSessionOptions { MountPoint = mnt, DebugOutput = r.Debug });
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            session.Stop();
        };
        state.Write(DokanMountState.ForThisProcess(mnt, first.Source));
        try
        {
            int rc = session.Run(() =>
            {
                Console.WriteLine($"vmdkmount: {first.Source} mounted at {adapter.MountPoint ?? mnt} (read-only); Ctrl+C unmounts");
                Console.Out.Flush();
            });
            if (rc != DokanResult.Success)
            {
                Log($"{mnt}: cannot mount: {DokanResult.Describe(rc)}");
                return ExitCodes.Usage;
            }
            Log($"{mnt} unmounted");
            return ExitCodes.Ok;
        }
        finally
        {
            state.Remove(mnt);
        }
    }

    /// <summary>`vmdkmount cleanup` on Windows: drive letters and folders left mounted by a process that is gone.</summary>
    public static int Cleanup()
    {
        var state = new DokanMountState(DokanMountState.DefaultDirectory());
        var cleaned = state.CleanStale(new DokanLibrary(), line => Console.WriteLine($"vmdkmount: {line}"));
        if (cleaned.Count == 0) Console.WriteLine("vmdkmount: nothing to clean");
        return ExitCodes.Ok;
    }
}
