using VmdkMount.Core.Caching;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Caching;

public class BlockCacheTests
{
    /// <summary>An in-memory source that counts the reads that reach it.</summary>
    private sealed class CountingSource(byte[] data) : IReadAt
    {
        private long _reads;
        public long Reads => Interlocked.Read(ref _reads);
        public long Length => data.Length;

        public int ReadAt(long offset, Span<byte> destination)
        {
            Interlocked.Increment(ref _reads);
            if (offset >= data.Length) return 0;
            int n = (int)Math.Min(destination.Length, data.Length - offset);
            data.AsSpan((int)offset, n).CopyTo(destination);
            return n;
        }
    }

    private static byte[] Pattern(int length)
    {
        var data = new byte[length];
        new Random(42).NextBytes(data);
        return data;
    }

    [Fact]
    public void Reads_of_any_offset_and_length_return_the_sources_bytes()
    {
        // not a multiple of the block size, so the last block is partial
        var data = Pattern(BlockCache.BlockSize * 9 + 1234);
        using var cache = new BlockCache(new CountingSource(data), "test", new CacheBudget(BlockCache.BlockSize * 4));
        var rnd = new Random(7);
        for (int i = 0; i < 2000; i++)
        {
            long offset = rnd.NextInt64(0, data.Length + 100);
            int length = rnd.Next(0, i % 10 == 0 ? 300_000 : 9000);
            var buffer = new byte[length];
            int n = cache.ReadAt(offset, buffer);
            int expected = (int)Math.Clamp(data.Length - offset, 0, length);
            Assert.Equal(expected, n);
            Assert.True(buffer.AsSpan(0, n).SequenceEqual(data.AsSpan((int)Math.Min(offset, data.Length), n)), $"offset {offset} length {length}");
        }
    }

    /// <summary>A source slow enough that threads missing one block overlap.</summary>
    private sealed class SlowSource(byte[] data) : IReadAt
    {
        private long _reads;
        public long Reads => Interlocked.Read(ref _reads);
        public long Length => data.Length;

        public int ReadAt(long offset, Span<byte> destination)
        {
            Interlocked.Increment(ref _reads);
            Thread.Sleep(200);
            int n = (int)Math.Min(destination.Length, data.Length - offset);
            data.AsSpan((int)offset, n).CopyTo(destination);
            return n;
        }
    }

    [Fact]
    public void Threads_that_miss_the_same_block_at_once_share_one_fill()
    {
        var data = Pattern(BlockCache.BlockSize * 4);
        var source = new SlowSource(data);
        using var cache = new BlockCache(source, "test", new CacheBudget(BlockCache.BlockSize * 8));
        using var start = new Barrier(8);
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var buffer = new byte[512];
            start.SignalAndWait();
            Assert.Equal(512, cache.ReadAt(BlockCache.BlockSize + i * 512, buffer));
            Assert.True(buffer.AsSpan().SequenceEqual(data.AsSpan(BlockCache.BlockSize + i * 512, 512)));
        });
        Assert.Equal(1, source.Reads);
    }

    [Fact]
    public void A_small_read_of_a_cached_block_does_not_reach_the_source_and_large_reads_bypass()
    {
        var source = new CountingSource(Pattern(BlockCache.BlockSize * 8));
        using var cache = new BlockCache(source, "test", new CacheBudget(BlockCache.BlockSize * 8));
        var small = new byte[1024];
        cache.ReadAt(5000, small);
        long afterFirst = source.Reads;
        cache.ReadAt(9000, small);
        cache.ReadAt(BlockCache.BlockSize - 1024, small);
        Assert.Equal(afterFirst, source.Reads);
        var large = new byte[BlockCache.BypassBytes];
        cache.ReadAt(0, large);
        Assert.Equal(afterFirst + 1, source.Reads);
    }

    [Fact]
    public async Task Memory_stays_within_the_limit_and_concurrent_readers_agree()
    {
        var data = Pattern(BlockCache.BlockSize * 64);
        using var cache = new BlockCache(new CountingSource(data), "test", new CacheBudget(BlockCache.BlockSize * 4));
        var tasks = Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            var rnd = new Random(t);
            var buffer = new byte[4096];
            for (int i = 0; i < 3000; i++)
            {
                long offset = rnd.NextInt64(0, data.Length - buffer.Length);
                cache.ReadAt(offset, buffer);
                Assert.True(buffer.AsSpan().SequenceEqual(data.AsSpan((int)offset, buffer.Length)));
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        Assert.InRange(cache.CachedBytes, 0, cache.CapacityBytes);
    }

    [Fact]
    public void A_cached_disk_reads_a_real_chain_exactly_as_the_uncached_disk_does()
    {
        string chain = Path.Combine(RepoPaths.Root, "images", "demo", "demo-000002.vmdk");
        using var plain = DiskOpener.Open(chain);
        using var cached = DiskOpener.Open(chain, new DiskOpenOptions { BlockCache = true, Cache = new CacheBudget(1 << 20) });
        Assert.IsType<CachedDisk>(cached);
        Assert.Equal(plain.Length, cached.Length);
        var a = new byte[4096];
        var b = new byte[4096];
        for (long offset = 0; offset < plain.Length; offset += 4096 * 7 + 512)
        {
            int n = plain.ReadAt(offset, a);
            Assert.Equal(n, cached.ReadAt(offset, b));
            Assert.True(a.AsSpan(0, n).SequenceEqual(b.AsSpan(0, n)), $"offset {offset}");
        }
        Assert.Equal(plain.QueryAllocated(0, plain.Length), cached.QueryAllocated(0, cached.Length));
    }
}
