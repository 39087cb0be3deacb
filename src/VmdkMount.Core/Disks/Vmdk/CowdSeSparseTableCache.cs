namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// Process-wide LRU of metadata pages (grain-directory pages and grain tables) read from COWD and SEsparse delta
/// files, bounded by bytes rather than by count: a chain of hundreds of deltas with 16-32 KiB tables must not
/// grow without limit, and one hot delta may use the whole budget. Tables never change (the sources are
/// read-only), so entries are never invalidated, only evicted. A hit allocates nothing.
/// </summary>
internal sealed class CowdSeSparseTableCache
{
    private const long DefaultBudgetBytes = 64L * 1024 * 1024;

    /// <summary>The one cache every COWD and SEsparse extent of the process shares.</summary>
    public static CowdSeSparseTableCache Shared { get; } = new(DefaultBudgetBytes);

    private static long _nextExtentId;

    public CowdSeSparseTableCache(long budgetBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(budgetBytes);
        _budget = budgetBytes;
    }

    private readonly record struct Key(long ExtentId, long PageId);

    private sealed class Entry(Key key, byte[] data)
    {
        public readonly Key Key = key;
        public readonly byte[] Data = data;
    }

    private readonly object _gate = new();
    private readonly Dictionary<Key, LinkedListNode<Entry>> _map = new();
    private readonly LinkedList<Entry> _lru = new();
    private long _bytes;
    private long _budget;

    /// <summary>Bytes the cache may hold across all delta extents (64 MiB for <see cref="Shared"/>).</summary>
    public long BudgetBytes
    {
        get { lock (_gate) return _budget; }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            lock (_gate)
            {
                _budget = value;
                EvictOverBudget();
            }
        }
    }

    /// <summary>Bytes held now (for tests proving the bound).</summary>
    public long CurrentBytes
    {
        get { lock (_gate) return _bytes; }
    }

    public static long NewExtentId() => Interlocked.Increment(ref _nextExtentId);

    /// <summary>
    /// The page <paramref name="pageId"/> of extent <paramref name="extentId"/>, loaded by <paramref name="load"/>
    /// on a miss (outside the lock, so a slow read does not block other threads; two threads may load the same
    /// page once each, which is harmless because pages are immutable).
    /// </summary>
    public byte[] Get<TState>(long extentId, long pageId, TState state, Func<TState, byte[]> load)
    {
        var key = new Key(extentId, pageId);
        lock (_gate)
        {
            if (_map.TryGetValue(key, out var node))
            {
                if (node != _lru.First)
                {
                    _lru.Remove(node);
                    _lru.AddFirst(node);
                }
                return node.Value.Data;
            }
        }

        byte[] data = load(state);
        lock (_gate)
        {
            if (_map.TryGetValue(key, out var raced)) return raced.Value.Data;
            var node = _lru.AddFirst(new Entry(key, data));
            _map[key] = node;
            _bytes += data.Length;
            EvictOverBudget();
        }
        return data;
    }

    /// <summary>Drops every page of one extent (called when it is disposed).</summary>
    public void Forget(long extentId)
    {
        lock (_gate)
        {
            var node = _lru.First;
            while (node is not null)
            {
                var next = node.Next;
                if (node.Value.Key.ExtentId == extentId)
                {
                    _lru.Remove(node);
                    _map.Remove(node.Value.Key);
                    _bytes -= node.Value.Data.Length;
                }
                node = next;
            }
        }
    }

    private void EvictOverBudget()
    {
        // Keep at least the newest entry: the caller is about to use it.
        while (_bytes > _budget && _lru.Last is { } last && last != _lru.First)
        {
            _lru.RemoveLast();
            _map.Remove(last.Value.Key);
            _bytes -= last.Value.Data.Length;
        }
    }
}
