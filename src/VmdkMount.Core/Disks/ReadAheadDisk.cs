using VmdkMount.Core.Caching;

namespace VmdkMount.Core.Disks;

/// <summary>A virtual disk read through <see cref="SequentialReadAhead"/> (see <see cref="DiskOpenOptions.ReadAhead"/>).</summary>
public sealed class ReadAheadDisk : IVirtualDisk, ILayeredDisk
{
    public ReadAheadDisk(IVirtualDisk inner)
    {
        Inner = inner;
        ReadAhead = new SequentialReadAhead(inner);
    }

    public SequentialReadAhead ReadAhead { get; }

    public IVirtualDisk Inner { get; }

    public string Source => Inner.Source;

    public long Length => Inner.Length;

    public IReadOnlyList<string> Warnings => Inner.Warnings;

    public IReadOnlyList<string> SourceFiles => Inner.SourceFiles;

    public int ReadAt(long offset, Span<byte> destination) => ReadAhead.ReadAt(offset, destination);

    public IEnumerable<AllocatedRange> QueryAllocated(long offset, long length) => Inner.QueryAllocated(offset, length);

    public void Dispose()
    {
        ReadAhead.Dispose();
        Inner.Dispose();
    }
}
