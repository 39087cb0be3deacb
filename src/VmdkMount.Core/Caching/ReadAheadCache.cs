using System.Runtime.ExceptionServices;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Caching;

/// <summary>
/// The blocks of one remote file (<see cref="IRemoteFileCache"/>), cached on the disk's one budget, so that the small reads of the VMDK and filesystem
/// readers (headers, grain tables, directory blocks) are not each a round trip. A miss fetches the run of adjacent
/// missing blocks the read needs as one request (up to --max-request); a read that continues where the last one
/// ended widens the run ahead of it (read-ahead, doubling up to --max-request), one that jumps resets it; once the
/// window is full, the next run is fetched in the background while the reader consumes this one, so a sequential
/// reader does not wait a round trip per run. Threads that miss the same block wait for the one request already
/// fetching it. A read copies from the blocks it fetched, so a budget too small to keep them still reads correctly.
/// </summary>
public sealed class ReadAheadCache : IRemoteFileCache
{
    public const int BlockSize = RemoteBlocks.Size;

    /// <summary>
    /// Reads at least this long (file data: a run of grains, a flat extent's piece) go straight into the caller's
    /// buffer, a request of up to --max-request each: no block is allocated or copied for them, and the kernel's page
    /// cache keeps file data in a mount anyway. The metadata reads the cache is for are far smaller.
    /// </summary>
    public const int BypassBytes = 256 * 1024;

    private readonly string _name;
    private readonly FetchBlocks _fetch;
    private readonly FetchInto _fetchInto;
    private readonly BoundedCache<long, byte[]> _cache;
    private readonly long _blockCount;
    private readonly int _maxBlocks;
    private readonly int _maxRequestBytes;
    private readonly TimeSpan _waitBound;
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Pending> _pending = new();
    private long _nextSequential;
    private int _windowBlocks;
    // the block after the furthest one a sequential run has asked for: the background read-ahead goes on from there
    private long _aheadEnd;

    public ReadAheadCache(string name, long length, FetchBlocks fetch, FetchInto fetchInto, CacheBudget budget, int maxRequestBytes, TimeSpan waitBound)
    {
        _fetchInto = fetchInto;
        _name = name;
        Length = length;
        _fetch = fetch;
        _cache = new BoundedCache<long, byte[]>(budget);
        _blockCount = (length + BlockSize - 1) / BlockSize;
        _maxBlocks = Math.Max(1, maxRequestBytes / BlockSize);
        _maxRequestBytes = maxRequestBytes;
        _waitBound = waitBound;
    }

    /// <summary>The factory a remote store takes: every file's cache on <paramref name="budget"/>.</summary>
    public static RemoteFileCacheFactory On(CacheBudget budget) =>
        (name, length, fetch, fetchInto, maxRequestBytes, waitBound) => new ReadAheadCache(name, length, fetch, fetchInto, budget, maxRequestBytes, waitBound);

    public long Length { get; }

    public int Requests => Volatile.Read(ref _requests);
    private int _requests;

    public void Seed(long first, byte[][] blocks)
    {
        for (int i = 0; i < blocks.Length; i++) _cache.Add(first + i, blocks[i], blocks[i].Length);
    }

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0) throw new ContractViolationException($"{_name}: read at negative offset {offset}");
        if (offset >= Length || destination.IsEmpty) return 0;
        int count = (int)Math.Min(destination.Length, Length - offset);
        if (count >= BypassBytes)
        {
            ReadDirect(offset, destination[..count]);
            Interlocked.Exchange(ref _nextSequential, offset + count);
            return count;
        }
        bool sequential = offset == Interlocked.Read(ref _nextSequential);
        long lastNeeded = (offset + count - 1) / BlockSize;
        int done = 0;
        while (done < count)
        {
            long position = offset + done;
            long index = position / BlockSize;
            byte[] block = Block(index, lastNeeded, sequential);
            int within = (int)(position - index * BlockSize);
            int n = Math.Min(count - done, block.Length - within);
            if (n <= 0) throw new ContractViolationException($"{_name}: block {index} holds {block.Length} bytes, none at {position}");
            block.AsSpan(within, n).CopyTo(destination[done..]);
            done += n;
        }
        Interlocked.Exchange(ref _nextSequential, offset + count);
        if (sequential) ReadAheadInBackground(lastNeeded);
        return count;
    }

    private void ReadDirect(long offset, Span<byte> destination)
    {
        int done = 0;
        // each pass reads at least one byte (the count is positive), so the loop ends
        while (done < destination.Length)
        {
            int n = Math.Min(destination.Length - done, _maxRequestBytes);
            Interlocked.Increment(ref _requests);
            _fetchInto(offset + done, destination.Slice(done, n));
            done += n;
        }
    }

    /// <summary>Starts the next run when a full-window sequential reader is less than one window from the end of what was asked for.</summary>
    private void ReadAheadInBackground(long lastRead)
    {
        long first;
        List<Pending> claimed;
        lock (_gate)
        {
            if (_windowBlocks < _maxBlocks || _aheadEnd >= _blockCount || _aheadEnd - lastRead > _maxBlocks) return;
            first = Math.Max(_aheadEnd, lastRead + 1);
            claimed = Claim(first, Math.Min(first + _maxBlocks - 1, _blockCount - 1), claimFirst: false);
            if (claimed.Count == 0)
            {
                _aheadEnd = first + 1;   // held or being fetched already: look past it next time
                return;
            }
        }
        // errors reach the readers waiting on these blocks; with none waiting, the next read asks again itself. Its own
        // thread, not a pool thread: the fetch blocks on network I/O whose completions need the pool
        Task.Factory.StartNew(() =>
        {
            try { FetchClaimed(first, claimed); }
            catch (Exception) { }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>
    /// Under <see cref="_gate"/>: marks the blocks from <paramref name="first"/> to <paramref name="last"/> as being
    /// fetched, up to the first one held or being fetched (but <paramref name="first"/> always, with <paramref name="claimFirst"/>).
    /// </summary>
    private List<Pending> Claim(long first, long last, bool claimFirst)
    {
        var mine = new List<Pending>((int)Math.Max(0, last - first + 1));
        for (long j = first; j <= last; j++)
        {
            if (!(claimFirst && j == first) && (_pending.ContainsKey(j) || _cache.TryGet(j, out _))) break;
            var p = new Pending();
            _pending[j] = p;
            mine.Add(p);
        }
        if (first + mine.Count > _aheadEnd && mine.Count > 0) _aheadEnd = first + mine.Count;
        return mine;
    }

    /// <summary>Fetches claimed blocks as one request, stores them and wakes their waiters (or fails them).</summary>
    private byte[][] FetchClaimed(long index, List<Pending> mine)
    {
        byte[][] blocks;
        try
        {
            Interlocked.Increment(ref _requests);
            blocks = _fetch(index, mine.Count);
            if (blocks.Length != mine.Count) throw new ContractViolationException($"{_name}: asked for {mine.Count} blocks, got {blocks.Length}");
        }
        catch (Exception e)
        {
            lock (_gate)
                for (int i = 0; i < mine.Count; i++) _pending.Remove(index + i);
            foreach (var p in mine) p.Fail(e);
            throw;
        }
        for (int i = 0; i < blocks.Length; i++) _cache.Add(index + i, blocks[i], blocks[i].Length);
        lock (_gate)
            for (int i = 0; i < mine.Count; i++) _pending.Remove(index + i);
        for (int i = 0; i < mine.Count; i++) mine[i].Complete(blocks[i]);
        return blocks;
    }

    private byte[] Block(long index, long lastNeeded, bool sequential)
    {
        if (_cache.TryGet(index, out var hit)) return hit;
        Pending? other = null;
        List<Pending>? mine = null;
        lock (_gate)
        {
            if (!_pending.TryGetValue(index, out other))
            {
                long want = lastNeeded;
                if (sequential)
                {
                    _windowBlocks = Math.Clamp(_windowBlocks * 2, 2, _maxBlocks);
                    want = Math.Max(want, index + _windowBlocks - 1);
                }
                else
                {
                    _windowBlocks = 0;
                }
                want = Math.Min(want, Math.Min(index + _maxBlocks - 1, _blockCount - 1));
                // the first block is not being fetched (checked above); should another thread have stored it since,
                // fetching it again is only a wasted request
                mine = Claim(index, want, claimFirst: true);
            }
        }
        if (other is not null) return other.Wait(_name, index, _waitBound);
        return FetchClaimed(index, mine!)[0];
    }

    public void Dispose() => _cache.Dispose();

    /// <summary>A block one request is fetching; the threads that want it too wait here instead of asking again.</summary>
    private sealed class Pending
    {
        private readonly ManualResetEventSlim _done = new(false);
        private byte[]? _value;
        private Exception? _error;

        public void Complete(byte[] value)
        {
            _value = value;
            _done.Set();
        }

        public void Fail(Exception error)
        {
            _error = error;
            _done.Set();
        }

        public byte[] Wait(string name, long index, TimeSpan bound)
        {
            // the fetching thread is itself bounded by --timeout; this bound only guards against a bug there
            if (!_done.Wait(bound)) throw new TransportException($"{name}: block {index}: the request fetching it did not end within {bound.TotalSeconds:0} s");
            if (_error is TransportException t) throw new TransportException(t.Message, t, t.ConnectionLost);
            if (_error is not null) ExceptionDispatchInfo.Throw(_error);
            return _value!;
        }
    }
}
