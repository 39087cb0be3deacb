using VmdkMount.Cli.Restore.Native;
using VmdkMount.Core.FileSystems;

namespace VmdkMount.Cli.Restore;

/// <summary>
/// An open directory of the destination tree, shared by the entries still to be written in it. Every entry holds a
/// reference; when the last one is released its timestamps are set through the descriptor (nothing written in it
/// afterwards could change them) and the descriptor is closed. A tree walked depth-first keeps about one open
/// directory per level.
/// </summary>
internal sealed class DestinationDirectory
{
    private readonly FsNode? _times;
    private readonly Action<string>? _onTimesFailed;
    private int _references = 1;

    public DestinationDirectory(int fd, string displayPath, FsNode? times, Action<string>? onTimesFailed)
    {
        Fd = fd;
        DisplayPath = displayPath;
        _times = times;
        _onTimesFailed = onTimesFailed;
    }

    public int Fd { get; private set; }

    /// <summary>Where it is, for messages only: never used to open anything.</summary>
    public string DisplayPath { get; }

    public string Child(string name) => DisplayPath.EndsWith('/') ? DisplayPath + name : DisplayPath + "/" + name;

    public DestinationDirectory Retain()
    {
        if (_references <= 0) throw new InvalidOperationException($"{DisplayPath}: directory already closed");
        _references++;
        return this;
    }

    public void Release()
    {
        if (--_references > 0 || Fd < 0) return;
        if (_times is not null && !Timestamps.ApplyToFd(Fd, _times))
            _onTimesFailed?.Invoke(DisplayPath);
        PosixAt.Close(Fd);
        Fd = -1;
    }

    /// <summary>Closes without setting times (an interrupted restore).</summary>
    public void Abandon()
    {
        if (Fd >= 0) PosixAt.Close(Fd);
        Fd = -1;
        _references = 0;
    }
}
