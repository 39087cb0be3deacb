using VmdkMount.Core.Disks.Vmdk;

namespace VmdkMount.Tests.Vmdk;

public class CowdSeSparseTableCacheTests
{
    [Fact]
    public void Cache_is_bounded_by_bytes_and_evicts_the_least_recently_used()
    {
        var cache = new CowdSeSparseTableCache(100_000);
        long id = CowdSeSparseTableCache.NewExtentId();
        int loads = 0;
        byte[] Load(int size) { loads++; return new byte[size]; }
        for (int page = 0; page < 10; page++) cache.Get(id, page, 16_384, Load);
        Assert.Equal(10, loads);
        Assert.True(cache.CurrentBytes <= 100_000, $"{cache.CurrentBytes} bytes held");
        // pages 4..9 fit (6 x 16 KiB); touching 4 makes 5 the oldest
        cache.Get(id, 4, 16_384, Load);
        Assert.Equal(10, loads);
        cache.Get(id, 10, 16_384, Load);
        Assert.Equal(11, loads);
        cache.Get(id, 4, 16_384, Load);
        Assert.Equal(11, loads);
        cache.Get(id, 5, 16_384, Load);
        Assert.Equal(12, loads);
        cache.Forget(id);
        Assert.Equal(0, cache.CurrentBytes);
    }

    [Fact]
    public void An_entry_larger_than_the_budget_is_still_returned()
    {
        var cache = new CowdSeSparseTableCache(1000);
        long id = CowdSeSparseTableCache.NewExtentId();
        var page = cache.Get(id, 0, 0, _ => new byte[5000]);
        Assert.Equal(5000, page.Length);
        cache.Get(id, 1, 0, _ => new byte[5000]);
        Assert.Equal(5000, cache.CurrentBytes);
    }
}
