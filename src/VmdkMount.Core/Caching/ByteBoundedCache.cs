namespace VmdkMount.Core.Caching;

/// <summary>
/// A least-recently-used cache bounded by the bytes its values hold, not by their count: grain tables of a COWD
/// delta (16 KiB) and of a hosted sparse file (2 KiB) share one budget, so a chain of hundreds of links cannot grow
/// memory without limit. Values are immutable (the sources never change), so entries are never invalidated.
/// Thread-safe; a hit allocates nothing.
/// </summary>
public sealed class ByteBoundedCache<TKey, TValue> where TKey : notnull
{
    private readonly object _gate = new();
    private readonly Dictionary<TKey, LinkedListNode<Entry>> _map = new();
    private readonly LinkedList<Entry> _lru = new();
    private long _bytes;

    public ByteBoundedCache(long capacityBytes)
    {
        if (capacityBytes <= 0) throw new ArgumentOutOfRangeException(nameof(capacityBytes));
        CapacityBytes = capacityBytes;
    }

    public long CapacityBytes { get; }

    public long Bytes
    {
        get { lock (_gate) return _bytes; }
    }

    public bool TryGet(TKey key, out TValue value)
    {
        lock (_gate)
        {
            if (_map.TryGetValue(key, out var node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                value = node.Value.Value;
                return true;
            }
        }
        value = default!;
        return false;
    }

    /// <summary>Adds (or replaces) an entry and evicts the least recently used ones until the budget holds.</summary>
    public void Add(TKey key, TValue value, long sizeBytes)
    {
        if (sizeBytes > CapacityBytes) return;
        lock (_gate)
        {
            if (_map.TryGetValue(key, out var old))
            {
                _lru.Remove(old);
                _bytes -= old.Value.Size;
                _map.Remove(key);
            }
            var node = _lru.AddFirst(new Entry(key, value, sizeBytes));
            _map[key] = node;
            _bytes += sizeBytes;
            while (_bytes > CapacityBytes && _lru.Last is { } last)
            {
                _lru.RemoveLast();
                _map.Remove(last.Value.Key);
                _bytes -= last.Value.Size;
            }
        }
    }

    /// <summary>Returns the cached value or builds, caches and returns it (two threads may both build; one wins).</summary>
    public TValue GetOrAdd<TState>(TKey key, TState state, Func<TState, (TValue Value, long Size)> build)
    {
        if (TryGet(key, out var v)) return v;
        var (value, size) = build(state);
        Add(key, value, size);
        return value;
    }

    private readonly record struct Entry(TKey Key, TValue Value, long Size);
}
