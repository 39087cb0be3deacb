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
        var caches = Enumerable.Range(0, 4).Select(_ => new BoundedCache<long, byte[]>(budget)).ToArray();
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
