using System.Collections.Concurrent;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>
/// A thread-safe cache whose total weight stays under a cap. When an insert would pass the cap the cache is emptied:
/// crude, but bounded, lock-free on hits, and good enough for metadata that is cheap to re-read (FAT blocks,
/// parsed directories, cluster runs).
/// </summary>
internal sealed class BoundedCache<TKey, TValue> where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, (TValue Value, long Weight)> _items = new();
    private readonly long _maxWeight;
    private long _weight;

    public BoundedCache(long maxWeight) => _maxWeight = maxWeight;

    public bool TryGet(TKey key, out TValue value)
    {
        if (_items.TryGetValue(key, out var item))
        {
            value = item.Value;
            return true;
        }
        value = default!;
        return false;
    }

    public TValue GetOrAdd(TKey key, Func<TKey, TValue> create, Func<TValue, long> weigh)
    {
        if (_items.TryGetValue(key, out var hit)) return hit.Value;
        var value = create(key);
        long weight = Math.Max(1, weigh(value));
        if (Interlocked.Add(ref _weight, weight) > _maxWeight)
        {
            _items.Clear();
            Interlocked.Exchange(ref _weight, weight);
        }
        if (!_items.TryAdd(key, (value, weight))) Interlocked.Add(ref _weight, -weight);
        return value;
    }
}
