using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace VmdkMount.Core.Transports.Nbd;

/// <summary>
/// One NBD connection in the transmission phase, shared by every thread of a mount (transports.md section 2). Callers
/// send requests under a write lock, each with its own cookie; one reader thread reads every reply, finds the waiting
/// request by cookie and completes it. At most <see cref="MaxInFlight"/> requests are in flight. Anything that breaks
/// the protocol (unknown cookie, bad magic, a reply longer than its request, a truncated reply) or a request not
/// answered within the timeout kills the connection, and every waiting request fails with a
/// <see cref="TransportException"/> naming the server and the request: never a hang, never wrong bytes.
/// </summary>
internal sealed unsafe partial class NbdConnection : IDisposable
{
    /// <summary>qemu-nbd serves 16 requests per client at once; more would only queue in its socket.</summary>
    public const int MaxInFlight = 16;

    /// <summary>Bound on the chunks of one reply: a hostile server could otherwise split a read into 1-byte pieces forever.</summary>
    private const int MaxChunksPerRequest = 1 << 16;

    /// <summary>A BLOCK_STATUS chunk holds at most 2^20 extents (the spec's advice to servers), plus slack.</summary>
    private const int MaxBlockStatusPayload = 4 + 8 * ((1 << 20) + 1024);

    /// <summary>Error chunks carry a message of at most 4096 bytes.</summary>
    private const int MaxErrorPayload = 6 + 4096 + 8;

    private readonly NbdUri _uri;
    private readonly RemoteOptions _options;
    private readonly Socket _socket;
    private Stream? _stream;
    private readonly object _writeLock = new();
    private readonly object _tableLock = new();
    private readonly Dictionary<ulong, Request> _inFlight = new();
    private readonly SemaphoreSlim _slots = new(MaxInFlight, MaxInFlight);
    private ulong _nextCookie;
    private Exception? _failure;
    private Thread? _reader;
    private int _closed;

    private NbdConnection(NbdUri uri, RemoteOptions options, Socket socket)
    {
        _uri = uri;
        _options = options;
        _socket = socket;
    }

    public long ExportSize { get; private set; }
    public ushort TransmissionFlags { get; private set; }
    public bool Structured { get; private set; }

    /// <summary>The id the server gave `base:allocation`, or null when block status is not available.</summary>
    public uint? AllocationContext { get; private set; }

    public bool HasBlockSizes { get; private set; }
    public uint MinimumBlock { get; private set; } = 1;
    public uint PreferredBlock { get; private set; } = 512;

    /// <summary>The server's largest payload; null when it sets none.</summary>
    public uint? MaximumPayload { get; private set; }

    /// <summary>The DER certificate the TLS server showed (null without TLS).</summary>
    public byte[]? TlsPeerCertificate { get; private set; }

    private string Seconds => $"{_options.Timeout.TotalSeconds:0.###} s";

    /// <summary>One extent of a base:allocation answer.</summary>
    public readonly record struct Extent(uint Length, uint Flags);

    /// <summary>One request on the wire, from <see cref="Begin"/> until its reply is complete or the connection fails.</summary>
    internal sealed unsafe class Request(ushort type, long offset, int length, byte[]? buffer, byte* target = null)
    {
        public long Deadline;
        public ushort Type { get; } = type;
        public long Offset { get; } = offset;
        public int Length { get; } = length;
        public byte[]? Buffer { get; } = buffer;

        /// <summary>Where a read without a <see cref="Buffer"/> lands: the caller's pinned memory (<see cref="BeginReadInto"/>).</summary>
        private readonly byte* _target = target;

        /// <summary>The bytes [at, at+count) of the read's destination.</summary>
        public Span<byte> Into(int at, int count) => Buffer is { } b ? b.AsSpan(at, count) : new Span<byte>(_target + at, count);
        public ulong Cookie { get; set; }
        // No spinning: the reader thread that sets it needs the core a spinning waiter would take (2-core proxies).
        public readonly ManualResetEventSlim Done = new(false, spinCount: 0);
        public List<(long Start, long End)>? Pieces;
        public int Chunks;
        public List<Extent>? Extents;
        public uint ServerError;
        public string? ServerMessage;
        public Exception? Failure;

        public string Describe() => Type == NbdWire.CmdRead ? $"read {Length} bytes at {Offset}" : $"block status of {Length} bytes at {Offset}";
    }

    private void StartReader()
    {
        _socket.ReceiveTimeout = 0;   // idle is fine; a request's own wait enforces the timeout
        _socket.SendTimeout = (int)Math.Max(1, _options.Timeout.TotalMilliseconds);
        if (OperatingSystem.IsLinux()) BlockInTheKernel();
        _reader = new Thread(ReaderLoop) { IsBackground = true, Name = "nbd-reader" };
        _reader.Start();
    }

    /// <summary>
    /// The timed connect left the descriptor non-blocking, and .NET then serves every blocking receive as a wait on
    /// its epoll thread, which wakes the reader thread: two context switches per receive that would have blocked
    /// (about 3,000 of them in a 1 GiB read, 4 % of its time on 2 cores). Blocking in recv itself is what the reader
    /// wants; .NET still tries the call first, so it simply returns when data is there. Sends get the kernel's own
    /// timeout (SO_SNDTIMEO), and a dead connection is still ended by Fail: shutdown(2) wakes a blocked recv or send.
    /// </summary>
    private void BlockInTheKernel()
    {
        if (!BitConverter.IsLittleEndian || IntPtr.Size != 8) return;   // the timeval below is x86_64/arm64's
        Span<byte> timeval = stackalloc byte[16];
        long ms = (long)Math.Max(1, _options.Timeout.TotalMilliseconds);
        BinaryPrimitives.WriteInt64LittleEndian(timeval, ms / 1000);
        BinaryPrimitives.WriteInt64LittleEndian(timeval[8..], ms % 1000 * 1000);
        _socket.SetRawSocketOption(SolSocket, SoSndTimeo, timeval);
        LinuxFileCalls.ClearNonBlocking((int)_socket.Handle);
    }

    private const int SolSocket = 1, SoSndTimeo = 21;   // asm-generic/socket.h (x86_64, arm64)

    /// <summary>Reads <paramref name="length"/> bytes at <paramref name="offset"/> into <paramref name="buffer"/>[0..length].</summary>
    /// <param name="bufferReleased">
    /// false when the request ended with the connection: then the reader thread may still write into the buffer, so
    /// it must not go back to a pool. An exception always follows such a false.
    /// </param>
    public void Read(long offset, int length, byte[] buffer, out bool bufferReleased) =>
        End(Begin(NbdWire.CmdRead, offset, length, buffer), out bufferReleased);

    /// <summary>Sends a read and returns at once; <see cref="End"/> waits for it. Several may be in flight from one caller.</summary>
    public Request BeginRead(long offset, int length, byte[] buffer) => Begin(NbdWire.CmdRead, offset, length, buffer);

    /// <summary>
    /// As <see cref="BeginRead"/>, but the reply is read straight into <paramref name="target"/>[0..length], memory the
    /// caller keeps pinned until <see cref="End"/> released it, or, when End says it did not (the connection died under
    /// the request), until <see cref="WaitForReaderExit"/> returned true: until then the reader thread may still write there.
    /// </summary>
    public unsafe Request BeginReadInto(long offset, int length, byte* target) => Begin(NbdWire.CmdRead, offset, length, null, target);

    /// <summary>
    /// After a failure: waits until the reader thread has stopped, so that no memory of a request can be written any
    /// more. The socket is closed by then, so a blocked receive returns at once; false only if it did not within the bound.
    /// </summary>
    public bool WaitForReaderExit(TimeSpan bound) => _reader is not { } t || t == Thread.CurrentThread || t.Join(bound);

    /// <summary>The base:allocation extents from <paramref name="offset"/>, as the server reports them (at least one).</summary>
    public List<Extent> BlockStatus(long offset, int length)
    {
        var request = Begin(NbdWire.CmdBlockStatus, offset, length, null);
        End(request, out _);
        return request.Extents!;
    }

    /// <summary>
    /// Takes an in-flight slot (given back when the reply is complete or the connection fails, never by the caller, so a
    /// caller with several requests out cannot starve itself), registers the cookie and sends the request.
    /// </summary>
    private unsafe Request Begin(ushort type, long offset, int length, byte[]? buffer, byte* target = null)
    {
        var request = new Request(type, offset, length, buffer, target);
        ThrowIfFailed(request);
        if (!_slots.Wait(_options.Timeout))
            throw Failed(request, $"{MaxInFlight} requests already waiting for more than {Seconds} (--timeout)");
        lock (_tableLock)
        {
            if (_failure is not null)
            {
                _slots.Release();
                ThrowIfFailed(request);
            }
            request.Cookie = ++_nextCookie;
            request.Deadline = Environment.TickCount64 + (long)_options.Timeout.TotalMilliseconds;
            _inFlight.Add(request.Cookie, request);
        }
        Span<byte> header = stackalloc byte[NbdWire.RequestSize];
        NbdWire.WriteRequest(header, 0, request.Type, request.Cookie, (ulong)request.Offset, (uint)request.Length);
        try
        {
            lock (_writeLock) _stream!.Write(header);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Fail(new TransportException($"sending failed: {e.Message}", e));
        }
        return request;
    }

    /// <summary>Waits for a request sent by <see cref="Begin"/> (at most until its deadline) and throws its error, if any.</summary>
    public void End(Request request, out bool bufferReleased)
    {
        long left = request.Deadline - Environment.TickCount64;
        if (!request.Done.Wait(TimeSpan.FromMilliseconds(Math.Max(0, left))))
        {
            Fail(new TransportException($"no reply within {Seconds} (--timeout)"));
            request.Done.Wait(TimeSpan.FromSeconds(1));
        }
        bufferReleased = request.Failure is null;
        if (request.Failure is { } failure) throw Failed(request, failure.Message, failure, connectionLost: failure is not ObjectDisposedException);
        if (request.ServerError != 0)
            throw Failed(request, $"server error {NbdWire.ErrorName(request.ServerError)}{(request.ServerMessage is { Length: > 0 } m ? ": " + m : "")}");
    }

    private void ThrowIfFailed(Request request)
    {
        if (_failure is { } f) throw Failed(request, $"the connection was lost earlier: {f.Message}", f, connectionLost: f is not ObjectDisposedException);
    }

    private TransportException Failed(Request request, string problem, Exception? inner = null, bool connectionLost = false) =>
        new($"{_uri.Text}: {request.Describe()}: {problem}", inner, connectionLost);

    /// <summary>Whether the connection is dead (a read on it would fail at once).</summary>
    public bool IsLost => _failure is not null;

    /// <summary>Marks the connection dead and fails every request still waiting. The first failure is the one reported.</summary>
    private void Fail(Exception reason)
    {
        List<Request> waiting;
        lock (_tableLock)
        {
            _failure ??= reason;
            waiting = [.. _inFlight.Values];
            _inFlight.Clear();
        }
        CloseSocket();
        foreach (var r in waiting)
        {
            r.Failure ??= _failure;
            _slots.Release();
            r.Done.Set();
        }
    }

    private void CloseSocket()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
        _stream?.Dispose();
    }

    private void ReaderLoop()
    {
        byte[] header = new byte[NbdWire.ChunkHeaderSize];
        try
        {
            while (true)
            {
                ReadWire(header.AsSpan(0, 4), null);
                uint magic = BinaryPrimitives.ReadUInt32BigEndian(header);
                if (magic == NbdWire.SimpleReplyMagic) SimpleReply(header);
                else if (magic == NbdWire.ChunkMagic) Chunk(header);
                else throw Protocol($"garbage where a reply was expected (magic 0x{magic:X8})");
            }
        }
        catch (Exception e)
        {
            Fail(e);   // the first failure wins: after a timeout or Dispose this one is only the closed socket
        }
    }

    private void SimpleReply(byte[] header)
    {
        ReadWire(header.AsSpan(4, 12), null);
        uint error = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
        ulong cookie = BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8));
        var r = Lookup(cookie);
        if (error != 0)
        {
            r.ServerError = error;
        }
        else if (r.Type == NbdWire.CmdRead && !Structured)
        {
            ReadWire(r.Into(0, r.Length), r);
        }
        else
        {
            throw Protocol($"a simple reply without error to {r.Describe()}{(Structured ? " after structured replies were agreed" : "")}");
        }
        Complete(r);
    }

    private void Chunk(byte[] header)
    {
        ReadWire(header.AsSpan(4, 16), null);
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4));
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(6));
        ulong cookie = BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8));
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16));
        if (!Structured) throw Protocol("a structured reply chunk although structured replies were not agreed");
        var r = Lookup(cookie);
        if (++r.Chunks > MaxChunksPerRequest) throw Protocol($"more than {MaxChunksPerRequest} chunks for {r.Describe()}");
        switch (type)
        {
            case NbdWire.ChunkNone:
                if (length != 0) throw Protocol($"a NONE chunk of {length} bytes for {r.Describe()}");
                break;
            case NbdWire.ChunkOffsetData:
                OffsetData(r, length);
                break;
            case NbdWire.ChunkOffsetHole:
                OffsetHole(r, length);
                break;
            case NbdWire.ChunkBlockStatus:
                BlockStatusChunk(r, length);
                break;
            default:
                if ((type & NbdWire.ChunkErrorBit) == 0) throw Protocol($"unknown chunk type {type} for {r.Describe()}");
                ErrorChunk(r, type, length);
                break;
        }
        if ((flags & NbdWire.ReplyFlagDone) == 0) return;
        if (r.ServerError == 0) CheckComplete(r);
        Complete(r);
    }

    private void OffsetData(Request r, uint length)
    {
        if (r.Type != NbdWire.CmdRead) throw Protocol($"data for {r.Describe()}");
        if (length < 9 || length - 8 > (uint)r.Length) throw Protocol($"a data chunk of {length} bytes for {r.Describe()}");
        Span<byte> offsetBytes = stackalloc byte[8];
        ReadWire(offsetBytes, r);
        ulong offset = BinaryPrimitives.ReadUInt64BigEndian(offsetBytes);
        int count = (int)(length - 8);
        int at = Place(r, offset, count, "data");
        ReadWire(r.Into(at, count), r);
    }

    private void OffsetHole(Request r, uint length)
    {
        if (r.Type != NbdWire.CmdRead) throw Protocol($"a hole for {r.Describe()}");
        if (length != 12) throw Protocol($"a hole chunk of {length} bytes (not 12) for {r.Describe()}");
        Span<byte> payload = stackalloc byte[12];
        ReadWire(payload, r);
        ulong offset = BinaryPrimitives.ReadUInt64BigEndian(payload);
        uint size = BinaryPrimitives.ReadUInt32BigEndian(payload[8..]);
        if (size == 0 || size > (uint)r.Length) throw Protocol($"a hole of {size} bytes for {r.Describe()}");
        int at = Place(r, offset, (int)size, "hole");
        r.Into(at, (int)size).Clear();
    }

    /// <summary>Checks that [offset, offset+count) lies within the request and records it; returns its place in the buffer.</summary>
    private int Place(Request r, ulong offset, int count, string what)
    {
        ulong start = (ulong)r.Offset;
        if (offset < start || offset - start > (ulong)(r.Length - count))
            throw Protocol($"{what} at {offset}+{count} outside {r.Describe()}");
        (r.Pieces ??= []).Add(((long)offset, (long)offset + count));
        return (int)(offset - start);
    }

    private void CheckComplete(Request r)
    {
        if (r.Type == NbdWire.CmdBlockStatus)
        {
            if (r.Extents is null) throw Protocol($"no extents in the answer to {r.Describe()}");
            return;
        }
        var pieces = r.Pieces ?? [];
        pieces.Sort();
        long expect = r.Offset;
        foreach (var (s, e) in pieces)
        {
            if (s < expect) throw Protocol($"overlapping pieces at {s} in the reply to {r.Describe()}");
            if (s > expect) break;
            expect = e;
        }
        if (expect != r.Offset + r.Length)
            throw Protocol($"the reply to {r.Describe()} leaves bytes from {expect} unsent");
    }

    private void BlockStatusChunk(Request r, uint length)
    {
        if (r.Type != NbdWire.CmdBlockStatus) throw Protocol($"block status for {r.Describe()}");
        if (length < 12 || (length - 4) % 8 != 0 || length > MaxBlockStatusPayload)
            throw Protocol($"a block status chunk of {length} bytes for {r.Describe()}");
        if (r.Extents is not null) throw Protocol($"a second block status chunk for {r.Describe()}");
        byte[] payload = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            ReadWire(payload.AsSpan(0, (int)length), r);
            uint context = BinaryPrimitives.ReadUInt32BigEndian(payload);
            if (context != AllocationContext) throw Protocol($"block status for context {context}, not the agreed {AllocationContext}");
            int n = (int)((length - 4) / 8);
            var extents = new List<Extent>(n);
            for (int i = 0; i < n; i++)
            {
                uint len = BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(4 + 8 * i));
                uint flags = BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(8 + 8 * i));
                if (len == 0) throw Protocol($"an extent of length 0 in the answer to {r.Describe()}");
                extents.Add(new Extent(len, flags));
            }
            r.Extents = extents;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(payload);
        }
    }

    private void ErrorChunk(Request r, ushort type, uint length)
    {
        if (length > MaxErrorPayload) throw Protocol($"an error chunk of {length} bytes for {r.Describe()}");
        byte[] payload = new byte[length];
        ReadWire(payload, r);
        if (type is NbdWire.ChunkError or NbdWire.ChunkErrorOffset)
        {
            if (length < 6) throw Protocol($"an error chunk of {length} bytes for {r.Describe()}");
            uint error = BinaryPrimitives.ReadUInt32BigEndian(payload);
            int messageLength = BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(4));
            if (messageLength > length - 6 - (type == NbdWire.ChunkErrorOffset ? 8 : 0))
                throw Protocol($"an error message of {messageLength} bytes in a chunk of {length}");
            r.ServerError = error == 0 ? 22u : error;
            string message = Printable(Encoding.UTF8.GetString(payload, 6, messageLength));
            if (type == NbdWire.ChunkErrorOffset && length >= 14 + messageLength)
                message += $"{(message.Length > 0 ? " " : "")}(at offset {BinaryPrimitives.ReadUInt64BigEndian(payload.AsSpan(6 + messageLength))})";
            r.ServerMessage = message;
        }
        else
        {
            r.ServerError = 22;
            r.ServerMessage = $"unknown error chunk type 0x{type:X4}";
        }
    }

    private Request Lookup(ulong cookie)
    {
        lock (_tableLock)
        {
            if (_inFlight.TryGetValue(cookie, out var r)) return r;
        }
        throw Protocol($"a reply for cookie {cookie}, which no request in flight has");
    }

    private void Complete(Request r)
    {
        bool mine;
        lock (_tableLock) mine = _inFlight.Remove(r.Cookie);
        if (!mine) return;      // Fail took it (and its slot) first
        _slots.Release();
        r.Done.Set();
    }

    private void ReadWire(Span<byte> into, Request? during)
    {
        try
        {
            _stream!.ReadExactly(into);
        }
        catch (EndOfStreamException e)
        {
            throw new TransportException(during is null ? "the server closed the connection" : $"the server closed the connection in the middle of the reply to {during.Describe()}", e);
        }
    }

    private static TransportException Protocol(string problem) => new($"protocol error: {problem}");

    /// <summary>Sends NBD_CMD_DISC (no reply comes) and closes; requests still waiting fail.</summary>
    public void Dispose()
    {
        if (Volatile.Read(ref _closed) == 0 && _failure is null)
        {
            Span<byte> header = stackalloc byte[NbdWire.RequestSize];
            NbdWire.WriteRequest(header, 0, NbdWire.CmdDisc, 0, 0, 0);
            try
            {
                lock (_writeLock) _stream!.Write(header);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
            {
                // the server is gone already: nothing to say goodbye to
            }
        }
        Fail(new ObjectDisposedException(_uri.Text, "the disk was closed"));
        _reader?.Join(TimeSpan.FromSeconds(2));
    }
}
