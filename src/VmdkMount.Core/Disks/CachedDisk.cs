using VmdkMount.Core.Caching;

namespace VmdkMount.Core.Disks;

/// <summary>A virtual disk read through a <see cref="BlockCache"/> (see <see cref="DiskOpenOptions.BlockCache"/>).</summary>
public sealed class CachedDisk : IVirtualDisk, ILayeredDisk
{
    private readonly IVirtualDisk _inner;

    public CachedDisk(IVirtualDisk inner, CacheBudget budget)
    {
        _inner = inner;
        Cache = new BlockCache(inner, inner.Source, budget);
    }

    public BlockCache Cache { get; }

    /// <summary>The disk the cache is in front of (what it is: a VMDK chain, a raw image, an NBD export).</summary>
    public IVirtualDisk Inner => _inner;

    public string Source => _inner.Source;

    public long Length => _inner.Length;

    public IReadOnlyList<string> Warnings => _inner.Warnings;

    public IReadOnlyList<string> SourceFiles => _inner.SourceFiles;

    public int ReadAt(long offset, Span<byte> destination) => Cache.ReadAt(offset, destination);

    public IEnumerable<AllocatedRange> QueryAllocated(long offset, long length) => _inner.QueryAllocated(offset, length);

    public void Dispose()
    {
        Cache.Dispose();
        _inner.Dispose();
    }
}
