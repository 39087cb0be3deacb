using VmdkMount.Core.Errors;
namespace VmdkMount.Core.Caching;

/// <summary>
/// One memory budget for the caches of an opened disk and its filesystems (grain tables, decompressed grains, the
/// block cache, inodes, MFT records, directories, cluster runs, ...). Every <see cref="BoundedCache{TKey,TValue}"/>
/// on a budget shares one least-recently-used order, so a hot cache takes room from cold ones and the total the
/// caches account never passes <see cref="CapacityBytes"/>: a mount's cache memory is one number the user sets
/// (<c>--cache-size</c>). Sizes are what the owners account for their values plus a fixed per-entry overhead.
/// </summary>
public sealed class CacheBudget
{
    /// <summary>The budget when none is given: the sum of the separate budgets the caches had before they shared one.</summary>
    public const long DefaultBytes = 256L << 20;

    /// <summary>
    /// The most a cache of parsed per-file objects (NTFS files, ext and XFS inodes and their extent maps) holds of
    /// a budget. A mount keeps what `stat` needs of every node the kernel holds in its own tree, and a parsed file
    /// is needed again only while it is opened and read; without a cap a walk of a large tree (an antivirus scan, a
    /// copy) would keep every file it passed, 20,000 files costing 20 MiB, for nothing.
    /// </summary>
    public const long PerFileObjectsBytes = 4L << 20;

    /// <summary>Accounted for every entry on top of its value: the entry, its list node and its dictionary slot.</summary>
    public const long EntryOverhead = 96;

    /// <summary>The process-wide budget, for callers that open without one (library use, tests).</summary>
    public static CacheBudget Shared { get; } = new(DefaultBytes);

    private static long _nextOwnerId;

    internal readonly Lock Gate = new();
    private readonly LinkedList<CacheEntry> _order = new();
    private long _used;
    private long _peak;

    public CacheBudget(long capacityBytes)
    {
        if (capacityBytes < 0) throw new ContractViolationException($"cache budget of {capacityBytes} bytes is negative");
        CapacityBytes = capacityBytes;
    }

    public long CapacityBytes { get; }

    /// <summary>Bytes the caches on this budget account now.</summary>
    public long UsedBytes
    {
        get { lock (Gate) return _used; }
    }

    /// <summary>The most <see cref="UsedBytes"/> has been since the budget was made (for tests proving the bound).</summary>
    public long PeakBytes
    {
        get { lock (Gate) return _peak; }
    }

    /// <summary>A process-unique id for an owner of cache entries (an extent, a disk), for keys shared across owners.</summary>
    public static long NewOwnerId() => Interlocked.Increment(ref _nextOwnerId);

    /// <summary>Under <see cref="Gate"/>: links a new entry as the most recent and evicts the oldest ones over the budget.</summary>
    internal void Insert(LinkedListNode<CacheEntry> node)
    {
        _order.AddFirst(node);
        _used += node.Value.Size;
        while (_used > CapacityBytes && _order.Last is { } last)
        {
            _order.RemoveLast();
            _used -= last.Value.Size;
            last.Value.Detach();
        }
        if (_used > _peak) _peak = _used;
    }

    /// <summary>Under <see cref="Gate"/>: marks an entry as the most recently used.</summary>
    internal void Touch(LinkedListNode<CacheEntry> node)
    {
        if (node == _order.First) return;
        _order.Remove(node);
        _order.AddFirst(node);
    }

    /// <summary>Under <see cref="Gate"/>: unlinks an entry its owner drops.</summary>
    internal void Remove(LinkedListNode<CacheEntry> node)
    {
        if (node.List is null) return;
        _order.Remove(node);
        _used -= node.Value.Size;
    }
}

/// <summary>An entry on a budget's order; <see cref="Detach"/> removes it from its owner's map when the budget evicts it.</summary>
internal abstract class CacheEntry(long size)
{
    public readonly long Size = size;

    public abstract void Detach();
}
