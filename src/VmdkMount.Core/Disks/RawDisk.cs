using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks;

/// <summary>A raw disk image file (`.img`, `.raw`): every byte is data. Also what tests use to feed layers 4 and 5.</summary>
public sealed class RawDisk : IVirtualDisk
{
    private readonly ISourceFile _file;

    /// <param name="path">a local image file; only a regular file is accepted</param>
    public RawDisk(string path) : this(LocalSourceStore.Unconfined, path)
    {
    }

    /// <param name="store">where the image comes from (it refuses anything but a plain file)</param>
    /// <param name="name">the image's name in <paramref name="store"/></param>
    public RawDisk(ISourceStore store, string name)
    {
        _file = store.Open(name);
        Source = name;
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
