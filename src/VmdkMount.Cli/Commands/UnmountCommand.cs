using System.CommandLine;
using VmdkMount.Fuse;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount unmount MOUNTPOINT [--lazy]`: unmounts; the serving process then exits on its own.</summary>
internal static class UnmountCommand
{
    public static Command Create()
    {
        var mountPoint = new Argument<string>("MOUNTPOINT");
        var lazy = new Option<bool>("--lazy", "-z") { Description = "detach even while files are open (they stay readable until closed)" };
        var stateDir = MountCommand.StateDirOption();
        var command = new Command("unmount", "unmount a vmdkmount mount");
        command.Arguments.Add(mountPoint);
        command.Options.Add(lazy);
        command.Options.Add(stateDir);
        command.SetAction(p => CliCommon.Run(() =>
        {
            string mnt = Path.GetFullPath(p.GetValue(mountPoint)!).TrimEnd('/');
            var state = MountState.Open(p.GetValue(stateDir));
            var record = state.Find(mnt);
            if (MountTable.Find(mnt) is not { } entry)
            {
                if (record is not null && !MountState.IsAlive(record)) state.Remove(mnt, withLog: true);
                Console.Error.WriteLine($"vmdkmount: {mnt}: not mounted");
                return ExitCodes.Usage;
            }
            if (entry.FsType != MountTable.OurFsType)
            {
                Console.Error.WriteLine($"vmdkmount: {mnt}: not a vmdkmount mount ({entry.FsType})");
                return ExitCodes.Usage;
            }
            if (!FuseSession.Unmount(mnt, p.GetValue(lazy), out string? error))
            {
                Console.Error.WriteLine($"vmdkmount: {mnt}: cannot unmount: {error} (files still open? --lazy detaches anyway)");
                return ExitCodes.Problems;
            }
            // The serving process sees the connection end, cleans its record and exits; wait for it briefly.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (record is not null && MountState.IsAlive(record) && DateTime.UtcNow < deadline) Thread.Sleep(50);
            if (record is not null && !MountState.IsAlive(record)) state.Remove(mnt, withLog: true);
            Console.WriteLine($"vmdkmount: unmounted {mnt}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
