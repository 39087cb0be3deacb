using VmdkMount.Core.Errors;

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
    private readonly long _maxBytes;
    // This cache's own recency order (newest first), kept only when it has a cap of its own: the budget's order
    // interleaves every cache, so it cannot say which of this cache's entries is the oldest.
    private Entry? _newest, _oldest;
    private long _bytes;
    private bool _disposed;

    public BoundedCache(CacheBudget budget) : this(budget, long.MaxValue) { }

    /// <summary>
    /// A cache that also never holds more than <paramref name="maxBytes"/> of the budget: for caches of parsed
    /// per-file objects, which a walk of a large tree would otherwise fill with files it is done with, while what
    /// the budget should hold is the blocks and tables that later reads need.
    /// </summary>
    public BoundedCache(CacheBudget budget, long maxBytes)
    {
        if (maxBytes <= 0) throw new ContractViolationException($"cache cap of {maxBytes} bytes is not positive");
        _budget = budget;
        _maxBytes = maxBytes;
    }

    private bool Capped => _maxBytes != long.MaxValue;

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
                var entry = (Entry)node.Value;
                if (Capped) MoveToFront(entry);
                value = entry.Value;
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
                var kept = (Entry)existing.Value;
                if (Capped) MoveToFront(kept);
                return kept.Value;
            }
            if (_disposed || size > _budget.CapacityBytes || size > _maxBytes) return value;
            var entry = new Entry(this, key, value, size);
            var node = new LinkedListNode<CacheEntry>(entry);
            entry.Node = node;
            _map[key] = node;
            _bytes += size;
            if (Capped) LinkFirst(entry);
            _budget.Insert(node);
            while (_bytes > _maxBytes && _oldest is { } oldest && oldest != entry)
            {
                _budget.Remove(oldest.Node!);
                oldest.Detach();
            }
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
            _newest = _oldest = null;
        }
    }

    public void Dispose()
    {
        lock (_budget.Gate) _disposed = true;
        Clear();
    }

    private void LinkFirst(Entry e)
    {
        e.Older = _newest;
        e.Newer = null;
        if (_newest is not null) _newest.Newer = e;
        _newest = e;
        _oldest ??= e;
    }

    private void Unlink(Entry e)
    {
        if (e.Newer is not null) e.Newer.Older = e.Older; else if (_newest == e) _newest = e.Older;
        if (e.Older is not null) e.Older.Newer = e.Newer; else if (_oldest == e) _oldest = e.Newer;
        e.Newer = e.Older = null;
    }

    private void MoveToFront(Entry e)
    {
        if (_newest == e) return;
        Unlink(e);
        LinkFirst(e);
    }

    private sealed class Entry(BoundedCache<TKey, TValue> owner, TKey key, TValue value, long size) : CacheEntry(size)
    {
        public readonly TValue Value = value;
        public LinkedListNode<CacheEntry>? Node;
        public Entry? Newer, Older;

        /// <summary>Called under the budget's lock when the budget (or the cache's own cap) evicts this entry.</summary>
        public override void Detach()
        {
            owner._map.Remove(key);
            owner._bytes -= Size;
            if (owner.Capped) owner.Unlink(this);
        }
    }
}
