using System.CommandLine;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;

namespace VmdkMount.Cli;

/// <summary>The options that `ls`, `cat` and `extract` share, and how they open `DISK VOL:/path` (more disks of the VM: --disk).</summary>
internal sealed class VolumeAccess
{
    public Argument<string> Disk { get; } = CliCommon.DiskArgument();
    public Option<string[]> MoreDisks { get; } = CliCommon.DiskOption();
    public Argument<string> Path { get; } = new("VOL:/path") { Description = "volume id as `volumes` prints it, then a path in it: p2:/Windows/win.ini (a stream: p2:/dir/file:stream)" };
    public Option<bool> IgnoreCid { get; } = CliCommon.IgnoreCidOption();
    public Option<bool> RawInput { get; } = CliCommon.RawInputOption();
    public Option<bool> System { get; } = new("--system") { Description = "also show filesystem metafiles ($MFT, $LogFile, ...)" };

    public void AddTo(Command command)
    {
        command.Arguments.Add(Disk);
        command.Arguments.Add(Path);
        command.Options.Add(MoreDisks);
        command.Options.Add(IgnoreCid);
        command.Options.Add(RawInput);
        command.Options.Add(System);
    }

    /// <summary>
    /// Opens the disk and finds the path through the same mount model a mount serves (<see cref="MountTree"/>, one
    /// volume at its root): symlinks in the middle are followed as the mount shows them, confined to the volume.
    /// </summary>
    public Target Open(ParseResult p, bool followLastSymlink)
    {
        string text = p.GetValue(Path)!;
        RawArguments.RequireUtf8(text, text, "; type a name as `ls` shows it (other bytes appear escaped, as %XX)");
        var where = VolumePath.Parse(text);
        var disk = MountedDisk.Open(CliCommon.Disks([p.GetValue(Disk)!], p.GetValue(MoreDisks)), CliCommon.DiskOptions(p, IgnoreCid, RawInput),
            new FileSystemOptions { ShowSystemFiles = p.GetValue(System) });
        try
        {
            var tree = new MountTree(disk, new MountTreeOptions { SingleVolume = where.Volume, Retention = NodeRetention.UntilPassed });
            var inode = tree.ResolveFollowingLinks(where.Path, followLastSymlink, where.ToString());
            return new Target(disk, tree, inode, where);
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }

    public sealed record Target(MountedDisk Disk, MountTree Tree, MountInode Inode, VolumePath Where) : IDisposable
    {
        /// <summary>The volume's reader (the tree has one volume).</summary>
        public IFileSystem Fs => Inode.FileSystem!;

        public FsNode Node => Inode.Node!;

        public void Dispose() => Disk.Dispose();
    }
}
