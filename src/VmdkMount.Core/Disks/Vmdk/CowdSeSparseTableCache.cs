namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// Process-wide LRU of metadata pages (grain-directory pages and grain tables) read from COWD and SEsparse delta
/// files, bounded by bytes rather than by count: a chain of hundreds of deltas with 16-32 KiB tables must not
/// grow without limit, and one hot delta may use the whole budget. Tables never change (the sources are
/// read-only), so entries are never invalidated, only evicted. A hit allocates nothing.
/// </summary>
internal static class CowdSeSparseTableCache
{
    private const long DefaultBudgetBytes = 64L * 1024 * 1024;

    private readonly record struct Key(long ExtentId, long PageId);

    private sealed class Entry(Key key, byte[] data)
    {
        public readonly Key Key = key;
        public readonly byte[] Data = data;
    }

    private static readonly object Gate = new();
    private static readonly Dictionary<Key, LinkedListNode<Entry>> Map = new();
    private static readonly LinkedList<Entry> Lru = new();
    private static long _bytes;
    private static long _budget = DefaultBudgetBytes;
    private static long _nextExtentId;

    /// <summary>Bytes the cache may hold across all delta extents (default 64 MiB).</summary>
    public static long BudgetBytes
    {
        get { lock (Gate) return _budget; }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            lock (Gate)
            {
                _budget = value;
                EvictOverBudget();
            }
        }
    }

    /// <summary>Bytes held now (for tests proving the bound).</summary>
    public static long CurrentBytes
    {
        get { lock (Gate) return _bytes; }
    }

    public static long NewExtentId() => Interlocked.Increment(ref _nextExtentId);

    /// <summary>
    /// The page <paramref name="pageId"/> of extent <paramref name="extentId"/>, loaded by <paramref name="load"/>
    /// on a miss (outside the lock, so a slow read does not block other threads; two threads may load the same
    /// page once each, which is harmless because pages are immutable).
    /// </summary>
    public static byte[] Get<TState>(long extentId, long pageId, TState state, Func<TState, byte[]> load)
    {
        var key = new Key(extentId, pageId);
        lock (Gate)
        {
            if (Map.TryGetValue(key, out var node))
            {
                if (node != Lru.First)
                {
                    Lru.Remove(node);
                    Lru.AddFirst(node);
                }
                return node.Value.Data;
            }
        }

        byte[] data = load(state);
        lock (Gate)
        {
            if (Map.TryGetValue(key, out var raced)) return raced.Value.Data;
            var node = Lru.AddFirst(new Entry(key, data));
            Map[key] = node;
            _bytes += data.Length;
            EvictOverBudget();
        }
        return data;
    }

    /// <summary>Drops every page of one extent (called when it is disposed).</summary>
    public static void Forget(long extentId)
    {
        lock (Gate)
        {
            var node = Lru.First;
            while (node is not null)
            {
                var next = node.Next;
                if (node.Value.Key.ExtentId == extentId)
                {
                    Lru.Remove(node);
                    Map.Remove(node.Value.Key);
                    _bytes -= node.Value.Data.Length;
                }
                node = next;
            }
        }
    }

    private static void EvictOverBudget()
    {
        // Keep at least the newest entry: the caller is about to use it.
        while (_bytes > _budget && Lru.Last is { } last && last != Lru.First)
        {
            Lru.RemoveLast();
            Map.Remove(last.Value.Key);
            _bytes -= last.Value.Data.Length;
        }
    }
}
