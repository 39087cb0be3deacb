using VmdkMount.Core.Transports;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Caching;

/// <summary>
/// A size-bounded block cache in front of a byte source (the flattened disk, in practice), for the small scattered reads filesystem readers make
/// (MFT records, index blocks, inode tables, FAT sectors), which in a deep chain or a compressed stream are the
/// costly ones. Large reads (file data) go straight through: the kernel's page cache keeps those in a mount, and
/// copying them through here would only double the memory. The sources never change, so blocks never go stale.
/// Its blocks are charged to the budget every other cache of the disk shares.
/// </summary>
public sealed class BlockCache : IReadAt, IDisposable
{
    /// <summary>Cache granularity: a common grain size, so one miss costs one grain read.</summary>
    public const int BlockSize = 64 * 1024;

    /// <summary>Reads at least this long bypass the cache.</summary>
    public const int BypassBytes = 128 * 1024;

    private readonly IReadAt _inner;
    private readonly string _name;
    private readonly BoundedCache<long, byte[]> _cache;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, Lazy<byte[]>> _filling = new();

    public BlockCache(IReadAt inner, string name, CacheBudget budget)
    {
        if (budget.CapacityBytes < BlockSize) throw new ContractViolationException($"{name}: cache budget of {budget.CapacityBytes} bytes is smaller than one block ({BlockSize} bytes)");
        _inner = inner;
        _name = name;
        _cache = new BoundedCache<long, byte[]>(budget);
    }

    /// <summary>The budget this cache shares (not its own limit: every cache on the budget competes for it).</summary>
    public long CapacityBytes => _cache.Budget.CapacityBytes;

    /// <summary>Bytes the cache holds now (for tests and `--debug`).</summary>
    public long CachedBytes => _cache.Bytes;

    public long Length => _inner.Length;

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0) throw new ContractViolationException($"{_name}: read at negative offset {offset}");
        if (offset >= Length || destination.IsEmpty) return 0;
        if (destination.Length > Length - offset) destination = destination[..(int)(Length - offset)];
        if (destination.Length >= BypassBytes) return _inner.ReadAt(offset, destination);

        int done = 0;
        while (done < destination.Length)
        {
            long position = offset + done;
            long blockIndex = position / BlockSize;
            byte[] block = GetBlock(blockIndex);
            int within = (int)(position - blockIndex * BlockSize);
            int n = Math.Min(destination.Length - done, block.Length - within);
            if (n <= 0) break;
            block.AsSpan(within, n).CopyTo(destination[done..]);
            done += n;
        }
        return done;
    }

    private byte[] GetBlock(long blockIndex)
    {
        if (_cache.TryGet(blockIndex, out var cached)) return cached;
        // Threads that miss the same block at once wait for one fill: on a remote source each fill is a round trip.
        var fill = new Lazy<byte[]>(() => Fill(blockIndex), LazyThreadSafetyMode.ExecutionAndPublication);
        var winner = _filling.GetOrAdd(blockIndex, fill);
        try
        {
            return winner.Value;
        }
        finally
        {
            if (ReferenceEquals(winner, fill)) _filling.TryRemove(new KeyValuePair<long, Lazy<byte[]>>(blockIndex, fill));
        }
    }

    private byte[] Fill(long blockIndex)
    {
        if (_cache.TryGet(blockIndex, out var cached)) return cached;
        long start = blockIndex * BlockSize;
        var block = new byte[(int)Math.Min(BlockSize, Length - start)];
        _inner.ReadExactly(start, block, $"{_name}: block cache fill");
        return _cache.Add(blockIndex, block, block.Length);
    }

    public void Dispose() => _cache.Dispose();
}
