using System.CommandLine;
using VmdkMount.Fuse;

namespace VmdkMount.Cli.Commands;

/// <summary>
/// `vmdkmount cleanup`: unmounts and forgets mounts whose serving process is gone (their mount point answers
/// "Transport endpoint is not connected"): those recorded in the state folder, and any dead `fuse.vmdkmount` mount.
/// </summary>
internal static class CleanupCommand
{
    public static Command Create()
    {
        var stateDir = MountCommand.StateDirOption();
        var command = new Command("cleanup", "unmount and forget stale mounts left by a crash");
        command.Options.Add(stateDir);
        command.SetAction(p => CliCommon.Run(() =>
        {
            if (OperatingSystem.IsWindows()) return WindowsMount.Cleanup();
            var state = MountState.Open(p.GetValue(stateDir));
            int cleaned = 0, failed = 0;
            var handled = new HashSet<string>(StringComparer.Ordinal);
            foreach (var record in state.List())
            {
                handled.Add(record.MountPoint);
                if (MountState.IsAlive(record))
                {
                    Console.WriteLine($"vmdkmount: {record.MountPoint}: in use by process {record.Pid}, kept");
                    continue;
                }
                if (MountTable.Find(record.MountPoint) is { FsType: MountTable.OurFsType } && !Detached(record.MountPoint))
                {
                    Console.Error.WriteLine($"vmdkmount: {record.MountPoint}: cannot unmount");
                    failed++;
                    continue;
                }
                state.Remove(record.MountPoint, withLog: true);
                Console.WriteLine($"vmdkmount: {record.MountPoint}: cleaned (process {record.Pid} is gone)");
                cleaned++;
            }
            foreach (var entry in MountTable.Read())
            {
                if (entry.FsType != MountTable.OurFsType || handled.Contains(entry.MountPoint) || !MountTable.IsDead(entry.MountPoint)) continue;
                if (Detached(entry.MountPoint))
                {
                    Console.WriteLine($"vmdkmount: {entry.MountPoint}: dead mount removed");
                    cleaned++;
                }
                else
                {
                    Console.Error.WriteLine($"vmdkmount: {entry.MountPoint}: cannot unmount");
                    failed++;
                }
            }
            if (cleaned == 0 && failed == 0) Console.WriteLine("vmdkmount: nothing to clean");
            return failed == 0 ? ExitCodes.Ok : ExitCodes.Problems;
        }));
        return command;
    }

    /// <summary>
    /// Unmounts a dead mount; true also when it went away meanwhile (another cleanup, or the kernel, got there first),
    /// so two cleanups at once both succeed.
    /// </summary>
    private static bool Detached(string mountPoint) =>
        FuseSession.LazyUnmount(mountPoint) || MountTable.Find(mountPoint) is null;
}
