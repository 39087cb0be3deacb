using VmdkMount.Cli.Restore.Native;

namespace VmdkMount.Cli.Restore;

/// <summary>
/// The (device, inode) of every host file the opened chain reads, so that restore and export can refuse to replace or
/// delete one, under whatever name it is reached (a symlink to it, a hard link of it, another spelling of its path).
/// </summary>
internal sealed class ChainFileSet
{
    private readonly HashSet<(ulong Device, ulong Inode)> _ids = new();

    public static readonly ChainFileSet None = new([]);

    public ChainFileSet(IEnumerable<string> files)
    {
        if (!OperatingSystem.IsLinux()) return;
        foreach (var f in files)
            if (PosixAt.TryStat(PosixAt.AtFdCwd, f, 0, out var s)) _ids.Add((s.Device, s.Inode));
    }

    public bool Contains(PosixAt.EntryStat s) => _ids.Contains((s.Device, s.Inode));

    /// <summary>
    /// Throws (usage error, exit 2) when <paramref name="path"/>, the entry itself or what it links to, is a chain file.
    /// </summary>
    public void RefuseIfChainFile(string path, string role)
    {
        if (!OperatingSystem.IsLinux()) return;
        if ((PosixAt.TryStat(PosixAt.AtFdCwd, path, PosixAt.AtSymlinkNoFollow, out var own) && Contains(own))
            || (PosixAt.TryStat(PosixAt.AtFdCwd, path, 0, out var target) && Contains(target)))
            throw new ArgumentException($"{path}: {role} is a file of the opened disk chain; refusing to overwrite the input");
    }
}
