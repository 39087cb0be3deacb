using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks;

/// <summary>A raw disk image file (`.img`, `.raw`): every byte is data. Also what tests use to feed layers 4 and 5.</summary>
public sealed class RawDisk : IVirtualDisk
{
    private readonly FileSource _file;

    /// <param name="path">the image file; only a regular file is accepted</param>
    /// <param name="confineTo">when given, the real path of a folder the image must lie under (--confine)</param>
    public RawDisk(string path, string? confineTo = null)
    {
        _file = new FileSource(path, confineTo);
        Source = path;
    }

    public string Source { get; }

    public long Length => _file.Length;

    public IReadOnlyList<string> Warnings => [];

    public IReadOnlyList<string> SourceFiles => [Source];

    public int ReadAt(long offset, Span<byte> destination) => _file.ReadAt(offset, destination);

    public IEnumerable<AllocatedRange> QueryAllocated(long offset, long length)
    {
        long end = Math.Min(Length, offset + length);
        if (end > offset) yield return new AllocatedRange(offset, end - offset);
    }

    public void Dispose() => _file.Dispose();
}
