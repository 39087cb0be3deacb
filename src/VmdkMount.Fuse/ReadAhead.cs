namespace VmdkMount.Fuse;

/// <summary>Reads <c>destination.Length</c> bytes of one file at <paramref name="offset"/>; returns how many it got.</summary>
internal delegate int ChunkReader(long offset, Span<byte> destination);

/// <summary>
/// Read-ahead for one open handle of a direct-I/O file. Without the page cache the kernel sends one READ at a time
/// for a plain read(2) loop, so each request would cost reading the image plus copying the reply into the reader's
/// buffer, one after the other on one core. Once a handle reads sequentially, the next chunk is read on a pool
/// thread while the current reply is being copied, and the next request is answered from it.
/// One chunk per handle at most, <see cref="MaxInFlight"/> in the whole mount; the handle object is its own pool
/// work item, so prefetching allocates nothing per request.
/// </summary>
internal sealed class ReadAhead(ChunkReader read) : IThreadPoolWorkItem
{
    /// <summary>Bounds the buffers all handles' chunks hold together (each one <see cref="ReadBuffers"/> buffer).</summary>
    public const int MaxInFlight = 32;

    private static int s_inFlight;

    private readonly Lock _gate = new();
    private readonly ManualResetEventSlim _done = new(true);
    private long _expected = -1;

    // The one chunk (a ReadBuffers buffer, 0 when none): owned by the pool thread while _running, then by whoever
    // takes or drops it.
    private nint _buffer;
    private long _offset;
    private int _length;
    private int _result;
    private bool _running;
    private bool _abandoned;

    /// <summary>
    /// The prefetched chunk for [offset, offset + length) if it was read whole: its buffer, which the caller hands
    /// back with <see cref="Return"/>; 0 if there is none. A chunk for other bytes is dropped. A failed prefetch is a
    /// miss, so the caller's own read meets the error and reports it.
    /// </summary>
    public nint Take(long offset, int length)
    {
        lock (_gate)
        {
            if (_buffer == 0 || _abandoned) return 0;
            if (_offset != offset || _length != length)
            {
                Drop();
                return 0;
            }
        }
        _done.Wait();
        nint taken;
        lock (_gate)
        {
            taken = _buffer;
            _buffer = 0;
            if (taken == 0 || _result == length) return taken;
        }
        Return(taken);
        return 0;
    }

    /// <summary>
    /// Records that [offset, offset + length) was just read and, when that continues the previous request (or starts
    /// the file), starts reading the next <paramref name="nextLength"/> bytes.
    /// </summary>
    public void Advance(long offset, int length, int nextLength)
    {
        lock (_gate)
        {
            bool sequential = offset == _expected || offset == 0;
            _expected = offset + length;
            if (!sequential || nextLength <= 0 || _buffer != 0) return;
            if (Interlocked.Increment(ref s_inFlight) > MaxInFlight || (_buffer = ReadBuffers.Rent()) == 0)
            {
                Interlocked.Decrement(ref s_inFlight);
                return;
            }
            _offset = offset + length;
            _length = nextLength;
            _running = true;
            _abandoned = false;
            _done.Reset();
        }
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    /// <summary>The handle is closed: a pending chunk's buffer goes back to the pool (once its read has ended).</summary>
    public void Close()
    {
        lock (_gate) Drop();
    }

    /// <summary>Returns a taken chunk's buffer (after its reply was sent) and frees its in-flight slot.</summary>
    public static void Return(nint buffer)
    {
        ReadBuffers.Return(buffer);
        Interlocked.Decrement(ref s_inFlight);
    }

    void IThreadPoolWorkItem.Execute()
    {
        int n;
        try
        {
            n = read(_offset, ReadBuffers.Span(_buffer, _length));
        }
        catch (Exception)
        {
            n = -1; // the request for these bytes reads them again and reports the error
        }
        lock (_gate)
        {
            _result = n;
            _running = false;
            if (_abandoned) ReleaseBuffer();
        }
        _done.Set();
    }

    /// <summary>Under the lock: gives the chunk up; a running read returns the buffer itself when it ends.</summary>
    private void Drop()
    {
        if (_buffer == 0) return;
        if (_running) _abandoned = true;
        else ReleaseBuffer();
    }

    private void ReleaseBuffer()
    {
        Return(_buffer);
        _buffer = 0;
        _abandoned = false;
    }
}
