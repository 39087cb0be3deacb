using VmdkMount.Core.Caching;
using Xunit;

namespace VmdkMount.Tests.Caching;

public class CacheBudgetTests
{
    private const long Over = CacheBudget.EntryOverhead;

    [Fact]
    public void Caches_on_one_budget_share_one_least_recently_used_order()
    {
        var budget = new CacheBudget(4 * (1000 + Over));
        using var a = new BoundedCache<int, byte[]>(budget);
        using var b = new BoundedCache<int, byte[]>(budget);
        a.Add(1, new byte[1000], 1000);
        a.Add(2, new byte[1000], 1000);
        b.Add(1, new byte[1000], 1000);
        Assert.True(a.TryGet(1, out _)); // a:1 is now newer than a:2 and b:1
        b.Add(2, new byte[1000], 1000);
        b.Add(3, new byte[1000], 1000); // over by one: the oldest (a:2) goes, whichever cache holds it
        Assert.False(a.TryGet(2, out _));
        Assert.True(a.TryGet(1, out _));
        Assert.True(b.TryGet(1, out _) && b.TryGet(2, out _) && b.TryGet(3, out _));
        Assert.Equal(budget.CapacityBytes, budget.UsedBytes);
        Assert.Equal(a.Bytes + b.Bytes, budget.UsedBytes);
    }

    [Fact]
    public void A_capped_cache_evicts_its_own_least_recently_used_entries_and_leaves_other_caches_alone()
    {
        var budget = new CacheBudget(1 << 20);
        using var capped = new BoundedCache<int, string>(budget, 3 * (100 + Over));
        using var other = new BoundedCache<int, string>(budget);
        other.Add(0, "o", 100); // the oldest entry on the budget: the cap must not take it
        capped.Add(1, "a", 100);
        capped.Add(2, "b", 100);
        capped.Add(3, "c", 100);
        Assert.True(capped.TryGet(1, out _)); // 1 is now the newest of the capped cache; 2 the oldest
        capped.Add(4, "d", 100);
        Assert.False(capped.TryGet(2, out _));
        Assert.True(capped.TryGet(1, out _) && capped.TryGet(3, out _) && capped.TryGet(4, out _));
        Assert.True(other.TryGet(0, out _));
        Assert.Equal(3 * (100 + Over), capped.Bytes);
        Assert.Equal(capped.Bytes + other.Bytes, budget.UsedBytes);
        for (int i = 10; i < 1000; i++) capped.Add(i, "x", 100);
        Assert.Equal(3, capped.Count);
        Assert.Equal(capped.Bytes + other.Bytes, budget.UsedBytes);
        Assert.Equal("too big", capped.Add(5000, "too big", 10_000));
        Assert.False(capped.TryGet(5000, out _));
        capped.Clear();
        capped.Add(7, "again", 100);
        Assert.True(capped.TryGet(7, out _));
        Assert.Equal(1, capped.Count);
    }

    [Fact]
    public void A_capped_cache_stays_consistent_when_the_budget_evicts_its_entries()
    {
        var budget = new CacheBudget(4 * (100 + Over));
        using var capped = new BoundedCache<int, string>(budget, 3 * (100 + Over));
        using var other = new BoundedCache<int, string>(budget);
        capped.Add(1, "a", 100);
        capped.Add(2, "b", 100);
        other.Add(1, "x", 100);
        other.Add(2, "y", 100);
        other.Add(3, "z", 100); // the budget evicts capped:1, the oldest on it
        Assert.False(capped.TryGet(1, out _));
        capped.Add(3, "c", 100);
        capped.Add(4, "d", 100);
        capped.Add(5, "e", 100);
        Assert.Equal(3, capped.Count);
        Assert.True(capped.TryGet(5, out _));
        Assert.True(capped.Bytes <= 3 * (100 + Over));
        Assert.Equal(capped.Bytes + other.Bytes, budget.UsedBytes);
        Assert.True(budget.UsedBytes <= budget.CapacityBytes);
    }

    [Fact]
    public void A_disposed_cache_gives_its_bytes_back_and_stores_nothing_more()
    {
        var budget = new CacheBudget(1 << 20);
        var a = new BoundedCache<int, string>(budget);
        using var b = new BoundedCache<int, string>(budget);
        for (int i = 0; i < 100; i++) a.Add(i, "x", 100);
        b.Add(0, "y", 100);
        a.Dispose();
        Assert.Equal(b.Bytes, budget.UsedBytes);
        a.Add(1, "z", 100);
        Assert.False(a.TryGet(1, out _));
        Assert.Equal(100 + Over, budget.UsedBytes);
    }

    [Fact]
    public void A_value_larger_than_the_budget_is_served_but_not_kept_and_the_first_value_stored_wins()
    {
        var budget = new CacheBudget(1000);
        using var c = new BoundedCache<int, string>(budget);
        Assert.Equal("big", c.Add(1, "big", 5000));
        Assert.False(c.TryGet(1, out _));
        Assert.Equal("first", c.Add(2, "first", 10));
        Assert.Equal("first", c.Add(2, "second", 10));
        Assert.Equal(0, new CacheBudget(0).UsedBytes);
        using var none = new BoundedCache<int, string>(new CacheBudget(0));
        none.Add(1, "a", 0);
        Assert.False(none.TryGet(1, out _));
    }

    [Fact]
    public async Task Many_threads_on_many_caches_never_pass_the_budget()
    {
        var budget = new CacheBudget(64 * 1024);
        // two with a cap of their own (the per-file caches), two without: the caps and the budget evict together
        var caches = Enumerable.Range(0, 4)
            .Select(i => i < 2 ? new BoundedCache<long, byte[]>(budget, 8 * (1000 + Over)) : new BoundedCache<long, byte[]>(budget))
            .ToArray();
        var tasks = Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            var rnd = new Random(t);
            for (int i = 0; i < 20_000; i++)
            {
                var cache = caches[rnd.Next(caches.Length)];
                long key = rnd.Next(500);
                var v = cache.GetOrAdd(key, static k => BitConverter.GetBytes(k), static v => 1000);
                Assert.Equal(key, BitConverter.ToInt64(v));
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        Assert.InRange(budget.PeakBytes, 32 * 1024, budget.CapacityBytes);
        Assert.Equal(caches.Sum(c => c.Bytes), budget.UsedBytes);
        Assert.All(caches.Take(2), c => Assert.InRange(c.Bytes, 1, 8 * (1000 + Over)));
        Assert.All(caches, c => Assert.Equal(c.Count * (1000 + Over), c.Bytes));
        foreach (var c in caches) c.Dispose();
        Assert.Equal(0, budget.UsedBytes);
    }

    [Fact]
    public void The_least_recently_used_table_goes_first_and_a_reread_costs_one_load()
    {
        // What the COWD/SEsparse table cache promised before it became a BoundedCache on a budget.
        var budget = new CacheBudget(6 * (16_384 + Over) + 100);
        using var cache = new BoundedCache<long, byte[]>(budget);
        int loads = 0;
        (byte[], long) Load(int size) { loads++; return (new byte[size], size); }
        for (int page = 0; page < 10; page++) cache.GetOrAdd(page, 16_384, Load);
        Assert.Equal(10, loads);
        Assert.True(budget.UsedBytes <= budget.CapacityBytes);
        cache.GetOrAdd(4, 16_384, Load); // pages 4..9 fit; touching 4 makes 5 the oldest
        Assert.Equal(10, loads);
        cache.GetOrAdd(10, 16_384, Load);
        Assert.Equal(11, loads);
        cache.GetOrAdd(4, 16_384, Load);
        Assert.Equal(11, loads);
        cache.GetOrAdd(5, 16_384, Load);
        Assert.Equal(12, loads);
    }
}
