using VmdkMount.Fuse;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Fuse;

/// <summary>
/// A mount made by our `vmdkmount mount` (detached, as a user runs it), with its own state folder; Dispose always
/// unmounts it (lazily if needed), even when the test failed.
/// </summary>
public sealed class CliMount : IDisposable
{
    public CliMount(string disk, string mountPoint, string stateDir, params string[] extra)
        : this([disk], mountPoint, stateDir, extra)
    {
    }

    /// <summary>`vmdkmount mount DISK [DISK...] MOUNTPOINT`: several disks of one VM.</summary>
    public CliMount(IReadOnlyList<string> disks, string mountPoint, string stateDir, params string[] extra)
    {
        MountPoint = mountPoint;
        StateDir = stateDir;
        Directory.CreateDirectory(mountPoint);
        var r = OurCli.Run(["mount", .. disks, mountPoint, "--state-dir", stateDir, .. extra], timeout: TimeSpan.FromMinutes(2));
        Output = r.StdOut + r.StdErr;
        if (r.ExitCode != 0 || MountTable.Find(mountPoint) is null)
            throw new InvalidOperationException($"mount failed ({r.ExitCode}): {Output}");
    }

    public string MountPoint { get; }

    public string StateDir { get; }

    public string Output { get; }

    public int Pid => new MountState(StateDir).Find(MountPoint)?.Pid ?? throw new InvalidOperationException("no state record");

    public string LogText => File.Exists(new MountState(StateDir).LogPath(MountPoint)) ? File.ReadAllText(new MountState(StateDir).LogPath(MountPoint)) : "";

    public void Dispose()
    {
        if (MountTable.Find(MountPoint) is null) return;
        var r = OurCli.Run(["unmount", MountPoint, "--state-dir", StateDir]);
        if (r.ExitCode != 0 && MountTable.Find(MountPoint) is not null) FuseSession.LazyUnmount(MountPoint);
    }
}
