namespace VmdkMount.Core.Caching;

/// <summary>
/// The process-wide metadata caches of the VMDK engine. One budget each for every open disk, so memory stays bounded
/// however many links or disks are open.
/// </summary>
public static class SharedCaches
{
    /// <summary>Grain tables of every sparse extent, keyed by (extent id, table sector).</summary>
    public static ByteBoundedCache<(long Extent, long Sector), uint[]> GrainTables { get; } = new(64L << 20);

    /// <summary>Decompressed grains of streamOptimized extents, keyed by (extent id, grain index).</summary>
    public static ByteBoundedCache<(long Extent, long Grain), byte[]> Grains { get; } = new(64L << 20);

    private static long _nextId;

    /// <summary>A process-unique id for keying cache entries of one extent or disk.</summary>
    public static long NewId() => Interlocked.Increment(ref _nextId);
}
