namespace VmdkMount.Fuse;

/// <summary>Reads <c>destination.Length</c> bytes of one file at <paramref name="offset"/>; returns how many it got.</summary>
internal delegate int ChunkReader(long offset, Span<byte> destination);

/// <summary>
/// Read-ahead for one open handle of a direct-I/O file. Without the page cache the kernel sends one READ at a time
/// for a plain read(2) loop, so each request would cost reading the image plus copying the reply into the reader's
/// buffer, one after the other on one core. Once a handle reads sequentially, the next <see cref="Depth"/> chunks
/// are read on pool threads while the current reply is being copied, and the next requests are answered from them.
/// Two chunks, not one: the first read in each block of a deep chain also resolves which link holds it (a grain
/// table per link), and the second chunk's slack hides that behind the reply copies.
/// Each handle owns its chunk objects (they are their own pool work items), so prefetching allocates nothing per
/// request; <see cref="MaxInFlight"/> bounds the buffers of all handles together.
/// </summary>
internal sealed class ReadAhead
{
    public const int Depth = 2;

    /// <summary>Bounds the buffers all handles' chunks hold together (each one <see cref="ReadBuffers"/> buffer).</summary>
    public const int MaxInFlight = 32;

    private static int s_inFlight;

    private readonly ChunkReader _read;
    private readonly Lock _gate = new();
    private readonly Chunk[] _slots = new Chunk[Depth];
    private readonly Chunk?[] _queue = new Chunk?[Depth]; // the chunks ahead, in file order
    private int _queued;
    private long _expected = -1;

    public ReadAhead(ChunkReader read)
    {
        _read = read;
        for (int i = 0; i < Depth; i++) _slots[i] = new Chunk(this);
    }

    /// <summary>
    /// One chunk's state. Its buffer belongs to the pool thread while <see cref="Running"/>, then to the queue, then
    /// to whoever took it (<see cref="Taken"/>) until it hands the buffer back.
    /// </summary>
    private sealed class Chunk(ReadAhead owner) : IThreadPoolWorkItem
    {
        public nint Buffer;
        public long Offset;
        public int Length;
        public int Result;
        public bool Running;
        public bool Abandoned;
        public bool Taken;
        public readonly ManualResetEventSlim Done = new(true);

        public bool Free => Buffer == 0 && !Running && !Taken;

        void IThreadPoolWorkItem.Execute()
        {
            int n;
            try
            {
                n = owner._read(Offset, ReadBuffers.Span(Buffer, Length));
            }
            catch (Exception)
            {
                n = -1; // the request for these bytes reads them again and reports the error
            }
            lock (owner._gate)
            {
                Result = n;
                Running = false;
                if (Abandoned) ReleaseBuffer(this);
            }
            Done.Set();
        }
    }

    /// <summary>
    /// The prefetched chunk for [offset, offset + length) if it was read whole: its buffer, which the caller hands
    /// back with <see cref="Return"/>; 0 if there is none. Chunks for other bytes are dropped. A failed prefetch is a
    /// miss, so the caller's own read meets the error and reports it.
    /// </summary>
    public nint Take(long offset, int length)
    {
        Chunk chunk;
        lock (_gate)
        {
            if (_queued == 0) return 0;
            chunk = _queue[0]!;
            if (chunk.Offset != offset || chunk.Length != length)
            {
                DropQueue();
                return 0;
            }
            for (int i = 1; i < _queued; i++) _queue[i - 1] = _queue[i];
            _queue[--_queued] = null;
            chunk.Taken = true;
        }
        chunk.Done.Wait();
        nint taken;
        bool whole;
        lock (_gate)
        {
            taken = chunk.Buffer;
            whole = chunk.Result == length;
            chunk.Buffer = 0;
            chunk.Taken = false;
        }
        if (whole) return taken;
        Return(taken);
        return 0;
    }

    /// <summary>
    /// Records that [offset, offset + length) was just read and, when that continues the previous request (or starts
    /// the file), keeps the next chunks of the same size up to <paramref name="fileLength"/> being read.
    /// </summary>
    public void Advance(long offset, int length, long fileLength)
    {
        lock (_gate)
        {
            bool sequential = offset == _expected || offset == 0;
            _expected = offset + length;
            if (!sequential) return;
            long next = _queued > 0 ? _queue[_queued - 1]!.Offset + _queue[_queued - 1]!.Length : offset + length;
            while (_queued < Depth && next < fileLength)
            {
                var slot = FreeSlot();
                if (slot is null) return;
                if (Interlocked.Increment(ref s_inFlight) > MaxInFlight || (slot.Buffer = ReadBuffers.Rent()) == 0)
                {
                    Interlocked.Decrement(ref s_inFlight);
                    return;
                }
                slot.Offset = next;
                slot.Length = (int)Math.Min(length, fileLength - next);
                slot.Running = true;
                slot.Abandoned = false;
                slot.Done.Reset();
                _queue[_queued++] = slot;
                ThreadPool.UnsafeQueueUserWorkItem(slot, preferLocal: false);
                next += slot.Length;
            }
        }
    }

    /// <summary>The handle is closed: pending chunks' buffers go back to the pool (once their reads have ended).</summary>
    public void Close()
    {
        lock (_gate) DropQueue();
    }

    /// <summary>Returns a taken chunk's buffer (after its reply was sent) and frees its in-flight slot.</summary>
    public static void Return(nint buffer)
    {
        ReadBuffers.Return(buffer);
        Interlocked.Decrement(ref s_inFlight);
    }

    private Chunk? FreeSlot()
    {
        foreach (var slot in _slots)
            if (slot.Free && Array.IndexOf(_queue, slot) < 0) return slot;
        return null;
    }

    /// <summary>Under the lock: gives up the queued chunks; a running read returns its buffer itself when it ends.</summary>
    private void DropQueue()
    {
        for (int i = 0; i < _queued; i++)
        {
            var chunk = _queue[i]!;
            _queue[i] = null;
            if (chunk.Running) chunk.Abandoned = true;
            else ReleaseBuffer(chunk);
        }
        _queued = 0;
    }

    private static void ReleaseBuffer(Chunk chunk)
    {
        Return(chunk.Buffer);
        chunk.Buffer = 0;
        chunk.Abandoned = false;
    }
}
