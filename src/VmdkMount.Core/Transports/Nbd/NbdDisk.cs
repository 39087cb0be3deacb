using System.Buffers;
using VmdkMount.Core.Disks;

namespace VmdkMount.Core.Transports.Nbd;

/// <summary>
/// An NBD export read as a flattened disk: volumes and filesystems are read straight from it, like a raw image. Reads
/// are aligned to the server's minimum block size and split into requests of at most
/// <see cref="RequestBytes"/> (the smaller of --max-request and the server's maximum, a multiple of its preferred
/// size where it can be). Allocation comes from NBD_CMD_BLOCK_STATUS on `base:allocation` when the server offers it
/// (an extent is unallocated when it is a hole that reads as zeros, HOLE and ZERO both set: a hole without ZERO has
/// undefined contents, which a sparse export must still read); otherwise every byte counts as allocated.
/// Thread-safe: many reads share a connection, in flight together; when the server sets CAN_MULTI_CONN, up to
/// --connections connections are opened (the extra ones in the background after the first), and requests are spread
/// over them. A broken connection is replaced by a new one only after the new one proves it serves the same disk.
/// </summary>
public sealed class NbdDisk : IVirtualDisk
{
    /// <summary>Largest BLOCK_STATUS length asked for (the spec's loop bound, below 2^31).</summary>
    private const long MaxStatusRequest = 0x7FFFF000;

    /// <summary>How many bytes at offset 0 the reconnect check compares.</summary>
    private const int FingerprintBytes = 64 << 10;

    private readonly RemoteOptions _options;
    private readonly object _reconnectGate = new();
    // Copy-on-write under _reconnectGate: grows when extra connections come up, never shrinks while open.
    private volatile Slot[] _slots;
    private int _turn;
    private readonly long _minimum;
    private int _disposed;
    // The first bytes of the export as first read, so a reconnect can tell the same disk from another one.
    private volatile byte[]? _fingerprint;
    private int _fingerprintLength;

    /// <summary>One connection's place: a broken connection is replaced in its slot.</summary>
    private sealed class Slot(NbdConnection connection)
    {
        public volatile NbdConnection Connection = connection;
    }

    private NbdDisk(NbdUri uri, NbdConnection connection, RemoteOptions options)
    {
        _slots = [new Slot(connection)];
        _options = options;
        Uri = uri;
        _minimum = AlignmentOf(connection);
        Length = connection.ExportSize;
        HasBlockStatus = connection.AllocationContext is not null;
        StructuredReplies = connection.Structured;
        long limit = options.MaxRequestBytes;
        // without advertised sizes the spec's portable limit is 32 MiB, which --max-request never exceeds
        if (connection.MaximumPayload is { } max) limit = Math.Min(limit, max);
        long preferred = connection.PreferredBlock;
        if (connection.HasBlockSizes && limit >= preferred) limit = limit / preferred * preferred;
        limit = Math.Max(_minimum, limit / _minimum * _minimum);
        RequestBytes = (int)limit;
        MultiConn = (connection.TransmissionFlags & NbdWire.TxCanMultiConn) != 0;
        // the spec's order: extra connections only once the first one saw the flag
        if (MultiConn && options.Connections > 1) _ = Task.Run(OpenExtraConnections);
    }

    /// <summary>Whether the server allows several connections to one export (CAN_MULTI_CONN).</summary>
    public bool MultiConn { get; }

    /// <summary>Connections open now (more than one only with CAN_MULTI_CONN).</summary>
    public int Connections => _slots.Length;

    private void OpenExtraConnections()
    {
        for (int i = 1; i < _options.Connections && Volatile.Read(ref _disposed) == 0; i++)
        {
            NbdConnection fresh;
            try
            {
                fresh = NbdConnection.Open(Uri, _options);
            }
            catch (Exception e) when (e is Errors.SourceUnavailableException or TransportException)
            {
                return;   // fewer connections: the first one carries everything, as without multi-conn
            }
            lock (_reconnectGate)
            {
                if (Volatile.Read(ref _disposed) != 0 || SameExportProblem(fresh) is not null)
                {
                    fresh.Dispose();
                    return;
                }
                _slots = [.. _slots, new Slot(fresh)];
            }
        }
    }

    /// <summary>The next slot in turn: requests spread evenly over the open connections.</summary>
    private Slot Pick()
    {
        var slots = _slots;
        return slots.Length == 1 ? slots[0] : slots[(int)((uint)Interlocked.Increment(ref _turn) % (uint)slots.Length)];
    }

    /// <summary>Connects and does the handshake; a server that cannot be reached or refuses raises <see cref="Errors.SourceUnavailableException"/>.</summary>
    public static NbdDisk Open(string source, RemoteOptions? options = null)
    {
        options = (options ?? new RemoteOptions()).Validated();
        var uri = NbdUri.Parse(source);
        if (!uri.Tls && (options.Thumbprint is not null || options.CaFile is not null))
            throw new ArgumentException($"{source}: --thumbprint and --ca are for TLS: use nbds://");
        var connection = NbdConnection.Open(uri, options);
        try
        {
            return new NbdDisk(uri, connection, options);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public NbdUri Uri { get; }

    public string Source => Uri.Text;

    public long Length { get; private init; }

    /// <summary>The largest read sent in one request.</summary>
    public int RequestBytes { get; }

    /// <summary>
    /// The alignment of every request: the server's minimum block size, or 512 when it advertises none (the spec's
    /// advice to portable clients; the export's tail past the last multiple is still read, as a shorter request).
    /// </summary>
    private static long AlignmentOf(NbdConnection c) => c.HasBlockSizes ? c.MinimumBlock : 512;

    /// <summary>The alignment of every request (see <see cref="AlignmentOf"/>).</summary>
    public long MinimumBlock => _minimum;

    /// <summary>Whether replies are structured (holes arrive as holes, errors carry text).</summary>
    public bool StructuredReplies { get; }

    /// <summary>Whether allocation comes from the server (base:allocation) rather than "all data".</summary>
    public bool HasBlockStatus { get; }

    /// <summary>How many times a broken connection was replaced by a new one.</summary>
    public int Reconnects { get; private set; }

    public IReadOnlyList<string> Warnings => [];

    public IReadOnlyList<string> SourceFiles => [];

    /// <summary>Requests one long read keeps in flight at once (a sequential reader then does not wait a round trip per request).</summary>
    private const int ReadWindow = 8;

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset));
        if (offset >= Length || destination.IsEmpty) return 0;
        int count = (int)Math.Min(destination.Length, Length - offset);
        long end = Math.Min(AlignUp(offset + count), Length);
        int done = 0;
        try
        {
            ReadPipelined(offset, count, end, destination, ref done);
        }
        catch (TransportException e) when (e.ConnectionLost && _options.Retries > 0 && Volatile.Read(ref _disposed) == 0)
        {
            // the connection broke under the window: the rest, from the first piece not yet copied, goes one request at a
            // time through the retry path, which connects again
        }
        while (done < count)
        {
            long pos = offset + done;
            long start = pos / _minimum * _minimum;
            long stop = Math.Min(start + RequestBytes, end);
            int length = (int)(stop - start);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
            bool released = false;
            try
            {
                WithRetries(c => c.Read(start, length, buffer, out released), ref released);
                if (start == 0) Remember(buffer.AsSpan(0, length));
                int take = (int)Math.Min(stop - pos, count - done);
                buffer.AsSpan((int)(pos - start), take).CopyTo(destination[done..]);
                done += take;
            }
            finally
            {
                if (released) ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        return count;
    }

    /// <summary>
    /// Reads [offset, offset+count) as requests of <see cref="RequestBytes"/>, up to <see cref="ReadWindow"/> in flight,
    /// copying each in order; <paramref name="done"/> counts the bytes in place, also when a request fails and this throws.
    /// A request that lies wholly inside the destination is read straight into it (pinned here), saving a copy of every
    /// byte of a long read; only the unaligned ends go through pooled buffers. When a connection dies under the window,
    /// this returns only after its reader thread stopped, so nothing writes into the caller's memory afterwards; pooled
    /// buffers of such requests stay out of the pool all the same.
    /// </summary>
    private unsafe void ReadPipelined(long offset, int count, long end, Span<byte> destination, ref int done)
    {
        var window = new Queue<(NbdConnection Connection, NbdConnection.Request Request, byte[]? Buffer, long Start, long Stop)>(ReadWindow);
        long next = offset / _minimum * _minimum;
        long last = offset + count;
        List<NbdConnection>? broken = null;
        fixed (byte* target = destination)
        {
            try
            {
                while (done < count)
                {
                    while (window.Count < ReadWindow && next < end)
                    {
                        long stop = Math.Min(next + RequestBytes, end);
                        int length = (int)(stop - next);
                        bool direct = next >= offset && stop <= last;
                        byte[]? buffer = direct ? null : ArrayPool<byte>.Shared.Rent(length);
                        var connection = Pick().Connection;
                        try
                        {
                            var request = direct ? connection.BeginReadInto(next, length, target + (next - offset)) : connection.BeginRead(next, length, buffer!);
                            window.Enqueue((connection, request, buffer, next, stop));
                        }
                        catch
                        {
                            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);   // never sent: nobody else holds it
                            throw;
                        }
                        next = stop;
                    }
                    var piece = window.Peek();
                    bool released = false;
                    try
                    {
                        piece.Connection.End(piece.Request, out released);
                    }
                    finally
                    {
                        if (!released) (broken ??= []).Add(piece.Connection);
                    }
                    window.Dequeue();
                    long pos = offset + done;
                    int take = (int)Math.Min(piece.Stop - pos, count - done);
                    if (piece.Buffer is { } b)
                    {
                        if (piece.Start == 0) Remember(b.AsSpan(0, (int)(piece.Stop - piece.Start)));
                        b.AsSpan((int)(pos - piece.Start), take).CopyTo(destination[done..]);
                        ArrayPool<byte>.Shared.Return(b);
                    }
                    else if (piece.Start == 0)
                    {
                        Remember(destination.Slice(done, take));
                    }
                    done += take;
                }
            }
            finally
            {
                // after a server error reply the connection is fine: wait out the rest so their buffers can go back
                while (window.Count > 0)
                {
                    var piece = window.Dequeue();
                    bool released = false;
                    try { piece.Connection.End(piece.Request, out released); } catch (TransportException) { }
                    if (!released) (broken ??= []).Add(piece.Connection);
                    else if (piece.Buffer is { } b) ArrayPool<byte>.Shared.Return(b);
                }
                // the destination is unpinned when this returns: a dead connection's reader must have stopped writing
                if (broken is not null)
                    foreach (var c in broken.Distinct())
                        if (!c.WaitForReaderExit(ReaderExitBound))
                            Environment.FailFast($"{Source}: the reader of a closed NBD connection did not stop within {ReaderExitBound.TotalSeconds} s; it could still write into memory that is no longer its own");
            }
        }
    }

    /// <summary>A closed socket wakes a blocked receive at once; this only bounds the wait for a thread that is not scheduled.</summary>
    private static readonly TimeSpan ReaderExitBound = TimeSpan.FromSeconds(30);

    private delegate void ReadOnConnection(NbdConnection connection);

    /// <summary>
    /// Runs a request; when its connection broke, waits (200 ms, doubling, at most 5 s), connects again and retries,
    /// up to --retries times. A buffer the old connection may still write into is never reused: a retry of a read gets
    /// <paramref name="released"/> false until one attempt completes, and the caller then drops that buffer.
    /// </summary>
    private void WithRetries(ReadOnConnection request, ref bool released)
    {
        string? reconnectError = null;
        // retries end with the call's timeout too: a mount must not stall the kernel much past --timeout, even when
        // every new connection waits out its own connect timeout (a host that drops packets)
        long giveUpAt = Environment.TickCount64 + (long)_options.Timeout.TotalMilliseconds;
        var slot = Pick();
        for (int attempt = 0; ; attempt++)
        {
            var connection = slot.Connection;
            TransportException failure;
            try
            {
                request(connection);
                // after a broken connection the buffer stays out of the pool even now: its old reader may have been slow to stop
                if (attempt > 0) released = false;
                return;
            }
            catch (TransportException e) when (e.ConnectionLost && Volatile.Read(ref _disposed) == 0)
            {
                long left = giveUpAt - Environment.TickCount64;
                if (attempt >= _options.Retries || left <= 0)
                {
                    if (attempt == 0) throw;
                    string why = attempt >= _options.Retries ? "" : $", the --timeout of {_options.Timeout.TotalSeconds:0.###} s being spent";
                    throw new TransportException($"{e.Message} (gave up after {attempt} reconnect attempts{why}{(reconnectError is null ? "" : $"; the last one: {reconnectError}")})", e);
                }
                failure = e;
            }
            // the old connection's reader thread may still write into the buffer: keep it out of the pool
            released = false;
            reconnectError = Replace(slot, connection, attempt, failure, giveUpAt);
        }
    }

    /// <summary>
    /// Waits, then replaces a broken connection (unless another thread did already), within what is left until
    /// <paramref name="giveUpAt"/>. A server still down is left for the next attempt (the reason is returned); one that
    /// serves another export now is an error.
    /// </summary>
    private string? Replace(Slot slot, NbdConnection broken, int attempt, TransportException why, long giveUpAt)
    {
        long backoff = Math.Min(5000, 200 << Math.Min(attempt, 5));
        Thread.Sleep(TimeSpan.FromMilliseconds(Math.Max(0, Math.Min(backoff, giveUpAt - Environment.TickCount64))));
        lock (_reconnectGate)
        {
            if (slot.Connection != broken && !slot.Connection.IsLost) return null;
            long left = giveUpAt - Environment.TickCount64;
            if (left <= 0) return "no time left";
            NbdConnection fresh;
            try
            {
                fresh = NbdConnection.Open(Uri, _options, TimeSpan.FromMilliseconds(Math.Max(100, left)));
            }
            catch (Errors.SourceUnavailableException e)
            {
                return e.Message.StartsWith(Source + ": ", StringComparison.Ordinal) ? e.Message[(Source.Length + 2)..] : e.Message;
            }
            if (SameExportProblem(fresh) is { } changed)
            {
                fresh.Dispose();
                throw new TransportException($"{Source}: reconnected after \"{why.Message}\", but {changed}: not the same disk any more", why);
            }
            var old = slot.Connection;
            slot.Connection = fresh;
            Reconnects++;
            old.Dispose();
            return null;
        }
    }

    /// <summary>
    /// What makes a new connection serve another disk than the first one, or null: the size, block sizes we can keep
    /// to, the same block status, and the first bytes of the export as first read (NBD has no content tag; the bytes
    /// at offset 0 hold the partition table or the filesystem's superblock, which differ between two disks). The bytes
    /// are those a read of offset 0 brought anyway, so the check costs the open nothing and a reconnect one read.
    /// </summary>
    private string? SameExportProblem(NbdConnection fresh)
    {
        if (fresh.ExportSize != Length) return $"the export's size changed from {Length} to {fresh.ExportSize} bytes";
        if (AlignmentOf(fresh) != _minimum || fresh.MaximumPayload is { } max && max < RequestBytes)
            return $"the export's block sizes changed (minimum {fresh.MinimumBlock}, maximum {fresh.MaximumPayload})";
        if ((fresh.AllocationContext is not null) != HasBlockStatus) return "the server no longer offers the same block status";
        if (_fingerprint is not { } first) return null;
        int length = Volatile.Read(ref _fingerprintLength);
        var now = new byte[length];
        try
        {
            fresh.Read(0, length, now, out _);
        }
        catch (TransportException e)
        {
            return $"its first {length} bytes could not be read to compare ({e.Message})";
        }
        return System.Security.Cryptography.SHA256.HashData(now).AsSpan().SequenceEqual(first)
            ? null : $"its first {length} bytes differ from those read before";
    }

    /// <summary>Keeps a hash of the export's first bytes from a completed read at offset 0 (the first such read only).</summary>
    private void Remember(ReadOnlySpan<byte> bytes)
    {
        if (_fingerprint is not null) return;
        int n = Math.Min(bytes.Length, FingerprintBytes);
        var hash = System.Security.Cryptography.SHA256.HashData(bytes[..n]);
        lock (_reconnectGate)
        {
            if (_fingerprint is not null) return;
            _fingerprintLength = n;
            _fingerprint = hash;
        }
    }

    public IEnumerable<AllocatedRange> QueryAllocated(long offset, long length)
    {
        long end = Math.Min(Length, offset + length);
        if (offset < 0 || end <= offset) yield break;
        if (!HasBlockStatus)
        {
            yield return new AllocatedRange(offset, end - offset);
            yield break;
        }
        long pos = offset, runStart = -1, runEnd = -1;
        while (pos < end)
        {
            long start = pos / _minimum * _minimum;
            long askEnd = Math.Min(Math.Min(AlignUp(end), Length), start + MaxStatusRequest / _minimum * _minimum);
            List<NbdConnection.Extent> extents = [];
            bool unused = false;
            WithRetries(c => extents = c.BlockStatus(start, (int)(askEnd - start)), ref unused);
            long at = start;
            foreach (var e in extents)
            {
                long next = Math.Min(at + e.Length, askEnd);   // nbdkit answers past the request: clamp
                long from = Math.Max(at, pos), to = Math.Min(next, end);
                if ((e.Flags & NbdWire.StateHoleZero) != NbdWire.StateHoleZero && to > from)
                {
                    if (from == runEnd) runEnd = to;
                    else
                    {
                        if (runStart >= 0) yield return new AllocatedRange(runStart, runEnd - runStart);
                        (runStart, runEnd) = (from, to);
                    }
                }
                at = next;
                if (at >= askEnd) break;
            }
            if (at <= pos)
                throw new TransportException($"{Source}: block status of {askEnd - start} bytes at {start}: protocol error: the answer ends at {at}, before {pos}");
            pos = at;
        }
        if (runStart >= 0) yield return new AllocatedRange(runStart, runEnd - runStart);
    }

    private long AlignUp(long value) => (value + _minimum - 1) / _minimum * _minimum;

    public void Dispose()
    {
        Interlocked.Exchange(ref _disposed, 1);
        lock (_reconnectGate)
            foreach (var slot in _slots) slot.Connection.Dispose();
    }
}
