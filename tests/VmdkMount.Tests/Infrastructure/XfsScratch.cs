namespace VmdkMount.Tests.Infrastructure;

/// <summary>
/// A scratch folder on a fresh XFS loop mount, for outputs larger than the host's ext4 can hold (ext4 files stop below
/// 16 TiB; XFS holds 8 EiB). The backing file is sparse and small; Dispose unmounts (lazily if busy) and deletes it.
/// </summary>
public sealed class XfsScratch : IDisposable
{
    private readonly string _root;
    private bool _mounted;

    public XfsScratch(string hint)
    {
        _root = RepoPaths.NewScratch(hint);
        try
        {
            string image = System.IO.Path.Combine(_root, "xfs.img");
            Path = System.IO.Path.Combine(_root, "mnt");
            Directory.CreateDirectory(Path);
            Tool.Run("truncate", "-s", "1G", image);
            Tool.Run("mkfs.xfs", "-q", "-f", image);
            Tool.Run("mount", "-o", "loop", image, Path);
            _mounted = true;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The mounted folder.</summary>
    public string Path { get; } = "";

    public void Dispose()
    {
        if (_mounted)
        {
            if (Tool.Run("umount", [Path], allowFailure: true).ExitCode != 0) Tool.Run("umount", ["-l", Path], allowFailure: true);
            _mounted = false;
        }
        Directory.Delete(_root, recursive: true);
    }
}
