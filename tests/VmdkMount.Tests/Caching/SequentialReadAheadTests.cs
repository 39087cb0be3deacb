using VmdkMount.Core.Caching;
using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Caching;

/// <summary>
/// Read-ahead for remote sources: a stream of reads is answered from windows fetched ahead, growing as the stream
/// goes on; random reads cost exactly what they ask; bytes are always the source's, also when a fill fails.
/// </summary>
public class SequentialReadAheadTests
{
    private sealed class Source(byte[] data) : IReadAt
    {
        public long Length => data.Length;
        public long Requests;
        public long Bytes;
        public long MaxRequest;
        /// <summary>Requests at or after this offset fail, as a connection that died would.</summary>
        public long FailFrom = long.MaxValue;

        public int ReadAt(long offset, Span<byte> destination)
        {
            Interlocked.Increment(ref Requests);
            if (offset + destination.Length > Interlocked.Read(ref FailFrom))
                throw new TransportException($"test source: read of {destination.Length} bytes at {offset}: connection lost");
            int n = (int)Math.Min(destination.Length, data.Length - offset);
            data.AsSpan((int)offset, n).CopyTo(destination);
            Interlocked.Add(ref Bytes, n);
            long max;
            while (n > (max = Interlocked.Read(ref MaxRequest)) && Interlocked.CompareExchange(ref MaxRequest, n, max) != max) { }
            return n;
        }
    }

    private static byte[] Data(int length)
    {
        var b = new byte[length];
        new Random(7).NextBytes(b);
        return b;
    }

    [Fact]
    public void A_stream_of_small_reads_is_served_from_windows_that_grow()
    {
        var data = Data(64 << 20);
        var source = new Source(data);
        using var ahead = new SequentialReadAhead(source);
        var buffer = new byte[128 << 10];
        for (long pos = 0; pos < data.Length; pos += buffer.Length)
        {
            Assert.Equal(buffer.Length, ahead.ReadAt(pos, buffer));
            Assert.True(buffer.AsSpan().SequenceEqual(data.AsSpan((int)pos, buffer.Length)), $"wrong bytes at {pos}");
        }
        // 512 reads of 128 KiB; once the stream is seen, most come from windows, fetched in few large requests
        Assert.True(ahead.ServedBytes > data.Length * 3L / 4, $"{ahead.ServedBytes} of {data.Length} bytes from windows");
        Assert.True(source.Requests < 100, $"{source.Requests} requests to the source");
        Assert.Equal(SequentialReadAhead.MaxWindow, source.MaxRequest);
        Assert.True(source.Bytes <= data.Length + SequentialReadAhead.MaxWindow, $"{source.Bytes} bytes fetched for {data.Length}");
    }

    [Fact]
    public void Random_reads_fetch_only_what_they_ask_for()
    {
        var data = Data(32 << 20);
        var source = new Source(data);
        using var ahead = new SequentialReadAhead(source);
        var rnd = new Random(3);
        var buffer = new byte[4096];
        for (int i = 0; i < 2000; i++)
        {
            long pos = rnd.NextInt64(0, data.Length / 4096) * 4096;
            ahead.ReadAt(pos, buffer);
            Assert.True(buffer.AsSpan().SequenceEqual(data.AsSpan((int)pos, 4096)));
        }
        // a jump ends read-ahead at once: at most a rare window when two random offsets land close together
        Assert.True(source.Bytes < 2000L * 4096 + 8L * SequentialReadAhead.MinWindow, $"{source.Bytes} bytes fetched for {2000 * 4096}");
    }

    [Fact]
    public void A_failed_fill_is_forgotten_and_the_read_gets_the_sources_own_answer()
    {
        var data = Data(16 << 20);
        var source = new Source(data) { FailFrom = 4 << 20 };
        using var ahead = new SequentialReadAhead(source);
        var buffer = new byte[64 << 10];
        long pos = 0;
        for (; pos + buffer.Length <= 4 << 20; pos += buffer.Length)
        {
            ahead.ReadAt(pos, buffer);
            Assert.True(buffer.AsSpan().SequenceEqual(data.AsSpan((int)pos, buffer.Length)));
        }
        // past the failure point the source's own error comes back, not stale or zero bytes
        Assert.Throws<TransportException>(() => ahead.ReadAt(pos, buffer));
        Interlocked.Exchange(ref source.FailFrom, long.MaxValue);   // the server is back
        for (; pos + buffer.Length <= data.Length; pos += buffer.Length)
        {
            ahead.ReadAt(pos, buffer);
            Assert.True(buffer.AsSpan().SequenceEqual(data.AsSpan((int)pos, buffer.Length)), $"wrong bytes at {pos}");
        }
    }

    [Fact]
    public void Many_threads_reading_streams_and_random_ranges_always_get_the_right_bytes()
    {
        var data = Data(32 << 20);
        var source = new Source(data);
        using var ahead = new SequentialReadAhead(source);
        Parallel.For(0, 8, t =>
        {
            var rnd = new Random(t);
            var buffer = new byte[(t % 3 + 1) * 32768];
            long pos = rnd.NextInt64(0, data.Length / 2);
            for (int i = 0; i < 400; i++)
            {
                if (t % 2 == 0 || pos + buffer.Length > data.Length) pos = rnd.NextInt64(0, data.Length - buffer.Length);
                int n = ahead.ReadAt(pos, buffer);
                Assert.Equal(buffer.Length, n);
                Assert.True(buffer.AsSpan().SequenceEqual(data.AsSpan((int)pos, n)), $"thread {t}: wrong bytes at {pos}");
                pos += n;
            }
        });
    }

    [Fact]
    public void Reads_at_the_end_are_short_and_large_reads_go_straight_through()
    {
        var data = Data(3 << 20);
        var source = new Source(data);
        using var ahead = new SequentialReadAhead(source);
        var buffer = new byte[1 << 20];
        for (long pos = 0; pos < data.Length; pos += 512 << 10)
        {
            int n = ahead.ReadAt(pos, buffer.AsSpan(0, 512 << 10));
            Assert.True(buffer.AsSpan(0, n).SequenceEqual(data.AsSpan((int)pos, n)));
        }
        Assert.Equal(0, ahead.ReadAt(data.Length, buffer));
        Assert.Equal(4096, ahead.ReadAt(data.Length - 4096, buffer));
        long before = source.Requests;
        var big = new byte[SequentialReadAhead.LargeRead];
        Assert.Equal(big.Length, ahead.ReadAt(0, big));
        Assert.Equal(before + 1, source.Requests);
    }
}
