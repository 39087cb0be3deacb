namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// A small thread-safe LRU map (parsed MFT files, index nodes). Values are immutable, so two threads that miss at
/// once may both load; the second insert simply wins. Bounded by entry count.
/// </summary>
internal sealed class NtfsCache<TKey, TValue> where TKey : notnull where TValue : class
{
    private readonly int _capacity;
    private readonly Dictionary<TKey, LinkedListNode<(TKey Key, TValue Value)>> _map = new();
    private readonly LinkedList<(TKey Key, TValue Value)> _order = new();
    private readonly Lock _gate = new();

    public NtfsCache(int capacity) => _capacity = capacity;

    public TValue GetOrAdd(TKey key, Func<TKey, TValue> load)
    {
        lock (_gate)
        {
            if (_map.TryGetValue(key, out var hit))
            {
                _order.Remove(hit);
                _order.AddFirst(hit);
                return hit.Value.Value;
            }
        }
        var value = load(key);
        lock (_gate)
        {
            if (_map.TryGetValue(key, out var raced)) return raced.Value.Value;
            var node = _order.AddFirst((key, value));
            _map[key] = node;
            while (_map.Count > _capacity)
            {
                var last = _order.Last!;
                _order.RemoveLast();
                _map.Remove(last.Value.Key);
            }
        }
        return value;
    }
}
