namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// A small thread-safe least-recently-used cache bounded by total weight (bytes, entries, ...). Values must be
/// immutable: they are handed to many threads. A hit moves an existing list node and allocates nothing.
/// </summary>
internal sealed class ExtCache<TKey, TValue> where TKey : notnull
{
    private readonly Dictionary<TKey, LinkedListNode<(TKey Key, TValue Value, long Weight)>> _map = new();
    private readonly LinkedList<(TKey Key, TValue Value, long Weight)> _order = new();
    private readonly long _budget;
    private long _weight;
    private readonly Lock _gate = new();

    public ExtCache(long budget) => _budget = budget;

    public bool TryGet(TKey key, out TValue value)
    {
        lock (_gate)
        {
            if (_map.TryGetValue(key, out var node))
            {
                if (node != _order.First)
                {
                    _order.Remove(node);
                    _order.AddFirst(node);
                }
                value = node.Value.Value;
                return true;
            }
        }
        value = default!;
        return false;
    }

    /// <summary>Adds (or keeps the existing value when another thread was first) and returns the cached value.</summary>
    public TValue Add(TKey key, TValue value, long weight)
    {
        lock (_gate)
        {
            if (_map.TryGetValue(key, out var existing)) return existing.Value.Value;
            if (weight > _budget) return value; // too big to keep: serve it uncached
            var node = _order.AddFirst((key, value, weight));
            _map[key] = node;
            _weight += weight;
            while (_weight > _budget && _order.Last is { } last)
            {
                _order.RemoveLast();
                _map.Remove(last.Value.Key);
                _weight -= last.Value.Weight;
            }
            return value;
        }
    }
}

/// <summary>Warnings gathered while reading (checksum mismatches found on first use, ...): deduplicated and capped.</summary>
internal sealed class ExtWarnings
{
    private const int Max = 200;
    private readonly List<string> _list = new();
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private bool _capped;

    public void Add(string? warning)
    {
        if (warning is null) return;
        lock (_gate)
        {
            if (_list.Count >= Max)
            {
                if (!_capped) _list.Add("more warnings were suppressed");
                _capped = true;
                return;
            }
            if (_seen.Add(warning)) _list.Add(warning);
        }
    }

    public IReadOnlyList<string> Snapshot()
    {
        lock (_gate) return _list.ToArray();
    }
}
