using System.Buffers;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Caching;

/// <summary>
/// Read-ahead for a remote source, where every request costs a round trip: when reads follow each other, the bytes
/// after them are fetched in the background, in a window that starts at <see cref="MinWindow"/> and doubles with
/// every window consumed, up to <see cref="MaxWindow"/>; a read elsewhere drops the window to nothing, so random access
/// costs exactly what it asks for. At most two windows are held (the one being read and the next), so memory stays
/// within a small constant beside the cache budget. Bytes come only from fills that completed; a fill that failed is
/// forgotten and the read goes to the source itself, with the source's own retries and its error.
/// Thread-safe: FUSE's parallel reads of one stream land slightly out of order, so a read near the last one still
/// counts as sequential.
/// </summary>
public sealed class SequentialReadAhead : IReadAt, IDisposable
{
    public const int MinWindow = 512 << 10;
    public const int MaxWindow = 8 << 20;

    /// <summary>How far from the end of the last read a read may start and still continue the stream.</summary>
    private const long Slack = 1 << 20;

    /// <summary>Reads this long go straight through: they are already large requests (pipelined by the source).</summary>
    public const int LargeRead = MaxWindow / 4;

    private readonly IReadAt _inner;
    private readonly Lock _gate = new();
    // In order, contiguous: [0] is being read, [1] the next one; never more than two.
    private readonly List<Window> _windows = new(2);
    private long _expected = -1;
    private int _size;
    private bool _disposed;
    private long _fetchedBytes, _servedBytes;

    public SequentialReadAhead(IReadAt inner) => _inner = inner;

    public long Length => _inner.Length;

    /// <summary>Bytes the read-ahead asked the source for.</summary>
    public long FetchedBytes => Interlocked.Read(ref _fetchedBytes);

    /// <summary>Bytes of reads answered from a window without a request of their own.</summary>
    public long ServedBytes => Interlocked.Read(ref _servedBytes);

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0) throw new ContractViolationException($"read-ahead: read at negative offset {offset}");
        if (offset >= Length || destination.IsEmpty) return 0;
        int count = (int)Math.Min(destination.Length, Length - offset);
        if (count >= LargeRead) return _inner.ReadAt(offset, destination[..count]);
        long end = offset + count;
        Window? hit = null;
        lock (_gate)
        {
            foreach (var w in _windows)
                if (w.Start <= offset && end <= w.End && !w.Failed)
                {
                    hit = w;
                    w.Readers++;
                    break;
                }
            Advance(offset, end, count, hit);
        }
        if (hit is not null && Serve(hit, offset, destination[..count])) return count;
        return _inner.ReadAt(offset, destination[..count]);
    }

    /// <summary>Under the lock: follows the stream and starts the next window, or ends read-ahead on a jump.</summary>
    private void Advance(long offset, long end, int count, Window? hit)
    {
        // A stream starts only where the last read ended exactly (random reads almost never do); once it runs, reads
        // near its end (parallel readers out of order) keep it going.
        bool continues = hit is not null || offset == _expected
            || (_windows.Count > 0 && offset >= _expected - Slack && offset <= _expected + Slack);
        _expected = hit is null ? end : Math.Max(end, _expected);
        if (!continues || _disposed)
        {
            _size = 0;
            DropAll();
            return;
        }
        // Windows wholly behind the stream are done with.
        while (_windows.Count > 0 && _windows[0].End <= offset) Drop(0);
        if (_windows.Count == 0)
        {
            // at least two reads of this size per window, or every read would miss it
            _size = Math.Min(MaxWindow, Math.Max(_size == 0 ? MinWindow : _size * 2, 2 * count));
            Start(end, _size);
            return;
        }
        // Reading has reached the second half of the last window: fetch the one after it.
        var last = _windows[^1];
        if (_windows.Count < 2 && end >= last.Start + last.Length / 2)
        {
            _size = Math.Min(MaxWindow, Math.Max(_size, last.Length) * 2);
            Start(last.End, _size);
        }
    }

    private void Start(long start, int size)
    {
        if (start >= Length) return;
        int length = (int)Math.Min(size, Length - start);
        var window = new Window(start, length, ArrayPool<byte>.Shared.Rent(length));
        _windows.Add(window);
        Interlocked.Add(ref _fetchedBytes, length);
        window.Fill = Task.Run(() => Fill(window));
    }

    private void Fill(Window w)
    {
        try
        {
            _inner.ReadExactly(w.Start, w.Buffer.AsSpan(0, w.Length), "read-ahead");
        }
        catch (Exception e) when (e is VmdkMountException or IOException or ObjectDisposedException)
        {
            // The reader that wanted these bytes asks the source itself and gets its error there.
            w.Failed = true;
        }
    }

    private bool Serve(Window w, long offset, Span<byte> destination)
    {
        try
        {
            w.Fill!.Wait();
            if (w.Failed) return false;
            w.Buffer.AsSpan((int)(offset - w.Start), destination.Length).CopyTo(destination);
            Interlocked.Add(ref _servedBytes, destination.Length);
            return true;
        }
        finally
        {
            lock (_gate)
            {
                w.Readers--;
                ReleaseIfIdle(w);
            }
        }
    }

    private void Drop(int index)
    {
        var w = _windows[index];
        _windows.RemoveAt(index);
        w.Dropped = true;
        ReleaseIfIdle(w);
    }

    private void DropAll()
    {
        while (_windows.Count > 0) Drop(_windows.Count - 1);
    }

    /// <summary>Under the lock: a dropped window nobody reads goes back to the pool once its fill is over.</summary>
    private static void ReleaseIfIdle(Window w)
    {
        if (!w.Dropped || w.Readers > 0 || w.Released) return;
        w.Released = true;
        if (w.Fill is { IsCompleted: true }) ArrayPool<byte>.Shared.Return(w.Buffer);
        else w.Fill?.ContinueWith(_ => ArrayPool<byte>.Shared.Return(w.Buffer), TaskScheduler.Default);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            DropAll();
        }
    }

    private sealed class Window(long start, int length, byte[] buffer)
    {
        public readonly long Start = start;
        public readonly int Length = length;
        public readonly byte[] Buffer = buffer;
        public long End => Start + Length;
        public Task? Fill;
        public volatile bool Failed;
        public int Readers;
        public bool Dropped, Released;
    }
}
