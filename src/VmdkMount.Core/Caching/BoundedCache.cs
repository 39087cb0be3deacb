namespace VmdkMount.Core.Caching;

/// <summary>
/// The one cache type of the engine and the filesystem readers: a thread-safe map whose entries are charged to a
/// <see cref="CacheBudget"/> and evicted least-recently-used first across every cache on that budget. Values must be
/// immutable (the sources never change, so nothing is ever invalidated, only evicted); two threads that miss at once
/// may both build a value, and the first one stored is kept. A hit allocates nothing. Disposing the cache releases
/// its entries from the budget, so a closed disk or filesystem leaves no memory charged.
/// </summary>
public sealed class BoundedCache<TKey, TValue> : IDisposable where TKey : notnull
{
    private readonly CacheBudget _budget;
    private readonly Dictionary<TKey, LinkedListNode<CacheEntry>> _map = new();
    private long _bytes;
    private bool _disposed;

    public BoundedCache(CacheBudget budget) => _budget = budget;

    public CacheBudget Budget => _budget;

    /// <summary>Bytes this cache accounts now (its share of the budget).</summary>
    public long Bytes
    {
        get { lock (_budget.Gate) return _bytes; }
    }

    public int Count
    {
        get { lock (_budget.Gate) return _map.Count; }
    }

    public bool TryGet(TKey key, out TValue value)
    {
        lock (_budget.Gate)
        {
            if (_map.TryGetValue(key, out var node))
            {
                _budget.Touch(node);
                value = ((Entry)node.Value).Value;
                return true;
            }
        }
        value = default!;
        return false;
    }

    /// <summary>
    /// Stores <paramref name="value"/> unless another thread stored one first, and returns the value kept. A value
    /// larger than the whole budget is returned without being stored.
    /// </summary>
    public TValue Add(TKey key, TValue value, long sizeBytes)
    {
        long size = Math.Max(0, sizeBytes) + CacheBudget.EntryOverhead;
        lock (_budget.Gate)
        {
            if (_map.TryGetValue(key, out var existing))
            {
                _budget.Touch(existing);
                return ((Entry)existing.Value).Value;
            }
            if (_disposed || size > _budget.CapacityBytes) return value;
            var node = new LinkedListNode<CacheEntry>(new Entry(this, key, value, size));
            _map[key] = node;
            _bytes += size;
            _budget.Insert(node);
        }
        return value;
    }

    /// <summary>The cached value, or the one <paramref name="build"/> makes (outside the lock), stored and returned.</summary>
    public TValue GetOrAdd<TState>(TKey key, TState state, Func<TState, (TValue Value, long Size)> build)
    {
        if (TryGet(key, out var cached)) return cached;
        var (value, size) = build(state);
        return Add(key, value, size);
    }

    /// <summary>The same, for builders keyed by the key alone and a separate size function.</summary>
    public TValue GetOrAdd(TKey key, Func<TKey, TValue> create, Func<TValue, long> size)
    {
        if (TryGet(key, out var cached)) return cached;
        var value = create(key);
        return Add(key, value, size(value));
    }

    /// <summary>Drops every entry and gives its bytes back to the budget.</summary>
    public void Clear()
    {
        lock (_budget.Gate)
        {
            foreach (var node in _map.Values) _budget.Remove(node);
            _map.Clear();
            _bytes = 0;
        }
    }

    public void Dispose()
    {
        lock (_budget.Gate) _disposed = true;
        Clear();
    }

    private sealed class Entry(BoundedCache<TKey, TValue> owner, TKey key, TValue value, long size) : CacheEntry(size)
    {
        public readonly TValue Value = value;

        /// <summary>Called by the budget under its lock when it evicts this entry.</summary>
        public override void Detach()
        {
            owner._map.Remove(key);
            owner._bytes -= Size;
        }
    }
}
