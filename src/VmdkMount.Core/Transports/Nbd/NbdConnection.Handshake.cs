using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Transports.Nbd;

/// <summary>
/// The fixed-newstyle handshake (transports.md section 1): greeting, client flags, [STARTTLS], STRUCTURED_REPLY,
/// SET_META_CONTEXT(base:allocation), GO with NBD_INFO_BLOCK_SIZE (EXPORT_NAME for servers without GO). Every reply is
/// bounded: payloads at most 64 KiB, at most <see cref="MaxRepliesPerOption"/> replies to one option, the whole
/// handshake within the timeout.
/// </summary>
internal sealed partial class NbdConnection
{
    /// <summary>Our policy: every defined option reply is far smaller.</summary>
    private const int MaxOptionReplyPayload = 64 << 10;

    /// <summary>GO answers with a handful of INFO replies; a server sending more is looping.</summary>
    private const int MaxRepliesPerOption = 256;

    /// <summary>Exports past this are refused as absurd (it leaves headroom for offset arithmetic).</summary>
    public const long MaxExportSize = 1L << 62;

    /// <param name="handshakeTimeout">bound on connect and handshake (default: the timeout); a reconnect passes what is left of its read's time</param>
    public static NbdConnection Open(NbdUri uri, RemoteOptions options, TimeSpan? handshakeTimeout = null)
    {
        var socket = uri.SocketPath is not null
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var conn = new NbdConnection(uri, options, socket) { _handshakeTimeout = handshakeTimeout ?? options.Timeout };
        // a backstop for a server that trickles its handshake a byte at a time, each byte inside the socket timeout
        using var watchdog = new Timer(_ => conn.ExpireHandshake(), null, conn._handshakeTimeout + TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        try
        {
            conn.Connect();
            conn.Handshake();
            watchdog.Change(Timeout.Infinite, Timeout.Infinite);
            if (conn._handshakeExpired) throw conn.Unavailable($"handshake not finished within {conn.HandshakeSeconds} (--timeout)");
            conn.StartReader();
            return conn;
        }
        catch (Exception e)
        {
            conn.CloseSocket();
            // the watchdog closed the socket: say so, rather than what the closed socket made of the read in progress
            if (conn._handshakeExpired && !e.Message.Contains(" within ", StringComparison.Ordinal))
                throw conn.Unavailable($"handshake not finished within {conn.HandshakeSeconds} (--timeout)", e);
            throw;
        }
    }

    /// <summary>
    /// Connects without the thread pool (a non-blocking connect and a poll), so that a busy process cannot stretch the
    /// timeout; a host name is resolved first, within the same timeout.
    /// </summary>
    private volatile bool _handshakeExpired;
    private TimeSpan _handshakeTimeout;

    private string HandshakeSeconds => $"{_handshakeTimeout.TotalSeconds:0.###} s";

    private void ExpireHandshake()
    {
        _handshakeExpired = true;
        CloseSocket();
    }

    private void Connect()
    {
        var clock = Stopwatch.StartNew();
        EndPoint endPoint;
        if (_uri.SocketPath is { } path) endPoint = new UnixDomainSocketEndPoint(path);
        else if (IPAddress.TryParse(_uri.Host, out var ip)) endPoint = new IPEndPoint(ip, _uri.Port);
        else
        {
            var lookup = Dns.GetHostAddressesAsync(_uri.Host!);
            try
            {
                if (!lookup.Wait(_handshakeTimeout)) throw Unavailable($"cannot resolve {_uri.Host} within {HandshakeSeconds} (--timeout)");
            }
            catch (AggregateException e) when (e.InnerException is SocketException s)
            {
                throw Unavailable($"cannot resolve {_uri.Host}: {s.Message}", s);
            }
            var address = lookup.Result.OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1).FirstOrDefault()
                ?? throw Unavailable($"{_uri.Host} has no address");
            endPoint = new IPEndPoint(address, _uri.Port);
        }
        try
        {
            _socket.Blocking = false;
            try
            {
                _socket.Connect(endPoint);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                var left = _handshakeTimeout - clock.Elapsed;
                if (left <= TimeSpan.Zero || !_socket.Poll(left, SelectMode.SelectWrite))
                    throw Unavailable($"no connection within {HandshakeSeconds} (--timeout)");
                var error = (SocketError)(int)_socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
                if (error != SocketError.Success) throw new SocketException((int)error);
            }
            _socket.Blocking = true;
        }
        catch (SocketException e)
        {
            throw Unavailable($"cannot connect: {e.Message}", e);
        }
        _socket.ReceiveTimeout = _socket.SendTimeout = (int)Math.Max(1, _handshakeTimeout.TotalMilliseconds);
        if (_uri.SocketPath is null) _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        _stream = new NetworkStream(_socket, ownsSocket: false);
    }

    private void Handshake()
    {
        var clock = Stopwatch.StartNew();
        Span<byte> greeting = stackalloc byte[18];
        HandshakeRead(greeting, "greeting", clock);
        if (BinaryPrimitives.ReadUInt64BigEndian(greeting) != NbdWire.InitPasswd)
            throw Unavailable("not an NBD server (the greeting lacks NBDMAGIC)");
        ulong second = BinaryPrimitives.ReadUInt64BigEndian(greeting[8..]);
        if (second == NbdWire.OldstyleMagic) throw Unavailable("the server speaks the retired oldstyle handshake; only newstyle is supported");
        if (second != NbdWire.OptMagic) throw Unavailable($"not an NBD server (greeting magic 0x{second:X16})");
        ushort serverFlags = BinaryPrimitives.ReadUInt16BigEndian(greeting[16..]);
        bool fixedNewstyle = (serverFlags & NbdWire.FlagFixedNewstyle) != 0;
        bool noZeroes = (serverFlags & NbdWire.FlagNoZeroes) != 0;
        Span<byte> clientFlags = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(clientFlags, (fixedNewstyle ? 1u : 0) | (noZeroes ? 2u : 0));
        HandshakeWrite(clientFlags);

        if (!fixedNewstyle)
        {
            if (_uri.Tls) throw Unavailable("the server cannot do TLS (no fixed-newstyle handshake)");
            ExportNameFallback(noZeroes, clock);
            return;
        }
        if (_uri.Tls) StartTls(clock);

        var sr = SendOption(NbdWire.OptStructuredReply, [], clock);
        RequireNoTls(sr);
        Structured = sr.Type == NbdWire.RepAck;
        if (!Structured && sr.Type is not (NbdWire.ErrUnsup or NbdWire.ErrPolicy or NbdWire.ErrInvalid or NbdWire.ErrPlatform))
            throw OptionFailed("STRUCTURED_REPLY", sr);

        if (Structured) NegotiateAllocationContext(clock);
        Go(noZeroes, clock);
    }

    private void NegotiateAllocationContext(Stopwatch clock)
    {
        byte[] name = ExportNameBytes;
        byte[] query = Encoding.ASCII.GetBytes(NbdWire.BaseAllocation);
        byte[] data = new byte[4 + name.Length + 4 + 4 + query.Length];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)name.Length);
        name.CopyTo(data, 4);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4 + name.Length), 1);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(8 + name.Length), (uint)query.Length);
        query.CopyTo(data, 12 + name.Length);
        WriteOption(NbdWire.OptSetMetaContext, data);
        for (int replies = 0; ; replies++)
        {
            if (replies >= MaxRepliesPerOption) throw Unavailable($"more than {MaxRepliesPerOption} replies to SET_META_CONTEXT");
            var r = ReadOptionReply(NbdWire.OptSetMetaContext, clock);
            if (r.Type == NbdWire.RepAck) return;
            if ((r.Type & NbdWire.RepErrBit) != 0)
            {
                RequireNoTls(r);
                AllocationContext = null;     // no block status: every byte counts as allocated
                return;
            }
            if (r.Type != NbdWire.RepMetaContext) continue;   // unknown non-error reply: ignore
            if (r.Payload.Length < 4) throw Unavailable($"META_CONTEXT reply of {r.Payload.Length} bytes");
            string context = Encoding.UTF8.GetString(r.Payload, 4, r.Payload.Length - 4);
            if (context == NbdWire.BaseAllocation) AllocationContext = BinaryPrimitives.ReadUInt32BigEndian(r.Payload);
        }
    }

    private void Go(bool noZeroes, Stopwatch clock)
    {
        byte[] name = ExportNameBytes;
        byte[] data = new byte[4 + name.Length + 2 + 2];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)name.Length);
        name.CopyTo(data, 4);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(4 + name.Length), 1);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(6 + name.Length), NbdWire.InfoBlockSize);
        WriteOption(NbdWire.OptGo, data);
        bool haveExport = false;
        for (int replies = 0; ; replies++)
        {
            if (replies >= MaxRepliesPerOption) throw Unavailable($"more than {MaxRepliesPerOption} replies to GO");
            var r = ReadOptionReply(NbdWire.OptGo, clock);
            if (r.Type == NbdWire.RepAck)
            {
                if (!haveExport) throw Unavailable("GO was acknowledged without NBD_INFO_EXPORT (no export size)");
                return;
            }
            if (r.Type == NbdWire.ErrUnsup && !haveExport)
            {
                // a server from before GO: EXPORT_NAME cannot report errors, but it is all such a server has
                ExportNameFallback(noZeroes, clock);
                return;
            }
            if ((r.Type & NbdWire.RepErrBit) != 0)
            {
                RequireNoTls(r);
                if (r.Type == NbdWire.ErrUnknown) throw Unavailable($"the server has no export named '{_uri.ExportName}'{Message(r)}");
                throw OptionFailed("GO", r);
            }
            if (r.Type != NbdWire.RepInfo) continue;
            if (r.Payload.Length < 2) throw Unavailable($"INFO reply of {r.Payload.Length} bytes");
            ushort info = BinaryPrimitives.ReadUInt16BigEndian(r.Payload);
            if (info == NbdWire.InfoExport)
            {
                if (r.Payload.Length != 12) throw Unavailable($"NBD_INFO_EXPORT of {r.Payload.Length} bytes, not 12");
                SetExport(BinaryPrimitives.ReadUInt64BigEndian(r.Payload.AsSpan(2)), BinaryPrimitives.ReadUInt16BigEndian(r.Payload.AsSpan(10)));
                haveExport = true;
            }
            else if (info == NbdWire.InfoBlockSize)
            {
                if (r.Payload.Length != 14) throw Unavailable($"NBD_INFO_BLOCK_SIZE of {r.Payload.Length} bytes, not 14");
                SetBlockSizes(BinaryPrimitives.ReadUInt32BigEndian(r.Payload.AsSpan(2)),
                    BinaryPrimitives.ReadUInt32BigEndian(r.Payload.AsSpan(6)), BinaryPrimitives.ReadUInt32BigEndian(r.Payload.AsSpan(10)));
            }
            // other info types (name, description) are for humans: ignored
        }
    }

    private void ExportNameFallback(bool noZeroes, Stopwatch clock)
    {
        WriteOption(NbdWire.OptExportName, ExportNameBytes);
        Span<byte> reply = stackalloc byte[10 + 124];
        try
        {
            HandshakeRead(reply[..(noZeroes ? 10 : 134)], "EXPORT_NAME reply", clock);
        }
        catch (SourceUnavailableException e) when (e.InnerException is EndOfStreamException)
        {
            throw Unavailable($"the server closed the connection after EXPORT_NAME: no export named '{_uri.ExportName}'?", e);
        }
        SetExport(BinaryPrimitives.ReadUInt64BigEndian(reply), BinaryPrimitives.ReadUInt16BigEndian(reply[8..]));
        Structured = false;
        AllocationContext = null;
    }

    private void SetExport(ulong size, ushort flags)
    {
        if (size > MaxExportSize) throw Unavailable($"export size {size} is absurd (more than {MaxExportSize})");
        ExportSize = (long)size;
        TransmissionFlags = flags;
    }

    /// <summary>Checks NBD_INFO_BLOCK_SIZE against the spec's rules; a server that breaks them is refused, not obeyed.</summary>
    private void SetBlockSizes(uint minimum, uint preferred, uint maximum)
    {
        if (minimum == 0 || !uint.IsPow2(minimum) || minimum > 64 << 10)
            throw Unavailable($"the server's minimum block size {minimum} is not a power of two up to 64 KiB");
        if (preferred == 0 || !uint.IsPow2(preferred) || preferred < minimum)
            throw Unavailable($"the server's preferred block size {preferred} is not a power of two at least its minimum {minimum}");
        if (maximum < minimum || (maximum != uint.MaxValue && maximum % minimum != 0))
            throw Unavailable($"the server's maximum payload {maximum} is not a multiple of its minimum block size {minimum}");
        MinimumBlock = minimum;
        PreferredBlock = preferred;
        MaximumPayload = maximum == uint.MaxValue ? null : maximum;
        HasBlockSizes = true;
    }

    private void StartTls(Stopwatch clock)
    {
        var r = SendOption(NbdWire.OptStartTls, [], clock);
        if (r.Type != NbdWire.RepAck)
            throw Unavailable($"the server refused STARTTLS ({NbdWire.ReplyName(r.Type)}{Message(r)}): it does not offer TLS, use nbd://");
        var trust = new TlsTrust(_uri.Text, _options);
        var ssl = new SslStream(_stream!, leaveInnerStreamOpen: false);
        try
        {
            // synchronous: the socket's timeouts bound every TLS read and write, and no thread-pool thread is needed
            ssl.AuthenticateAsClient(new SslClientAuthenticationOptions
            {
                TargetHost = _uri.Host ?? "localhost",
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = trust.Validate,
            });
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            ssl.Dispose();
            if (trust.Rejection is { } why) throw Unavailable(why, e);
            if (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut }) throw Unavailable($"no TLS handshake within {HandshakeSeconds} (--timeout)", e);
            throw Unavailable($"TLS handshake failed: {e.Message}", e);
        }
        if (clock.Elapsed > _handshakeTimeout) throw Unavailable($"handshake not finished within {HandshakeSeconds} (--timeout)");
        _stream = ssl;
        TlsPeerCertificate = trust.Seen;
        _tlsJustStarted = true;
    }

    private bool _tlsJustStarted;

    private byte[] ExportNameBytes => Encoding.UTF8.GetBytes(_uri.ExportName);

    private readonly record struct OptionReply(uint Type, byte[] Payload);

    private OptionReply SendOption(uint option, byte[] data, Stopwatch clock)
    {
        WriteOption(option, data);
        return ReadOptionReply(option, clock);
    }

    private void WriteOption(uint option, byte[] data)
    {
        byte[] buffer = new byte[16 + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, NbdWire.OptMagic);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(12), (uint)data.Length);
        data.CopyTo(buffer, 16);
        HandshakeWrite(buffer);
    }

    private OptionReply ReadOptionReply(uint option, Stopwatch clock)
    {
        Span<byte> header = stackalloc byte[NbdWire.OptionReplyHeaderSize];
        try
        {
            HandshakeRead(header, "option reply", clock);
        }
        catch (SourceUnavailableException e) when (e.InnerException is EndOfStreamException && _tlsJustStarted)
        {
            // qemu-nbd verifies peers by default: the TLS handshake looks fine to us, then it hangs up
            throw Unavailable("the server closed the connection right after the TLS handshake: it probably demands a client certificate, which is not supported (qemu-nbd: verify-peer=off)", e);
        }
        _tlsJustStarted = false;
        ulong magic = BinaryPrimitives.ReadUInt64BigEndian(header);
        if (magic != NbdWire.OptReplyMagic) throw Unavailable($"garbage where an option reply was expected (magic 0x{magic:X16})");
        uint answered = BinaryPrimitives.ReadUInt32BigEndian(header[8..]);
        if (answered != option) throw Unavailable($"the server answered option {answered} when option {option} was asked");
        uint type = BinaryPrimitives.ReadUInt32BigEndian(header[12..]);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header[16..]);
        if (length > MaxOptionReplyPayload) throw Unavailable($"option reply of {length} bytes (more than {MaxOptionReplyPayload})");
        byte[] payload = new byte[length];
        HandshakeRead(payload, "option reply", clock);
        return new OptionReply(type, payload);
    }

    private void HandshakeRead(Span<byte> into, string what, Stopwatch clock)
    {
        if (clock.Elapsed > _handshakeTimeout) throw Unavailable($"handshake not finished within {HandshakeSeconds} (--timeout)");
        try
        {
            _stream!.ReadExactly(into);
        }
        catch (EndOfStreamException e)
        {
            throw Unavailable($"the server closed the connection during the handshake (waiting for the {what})", e);
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut })
        {
            throw Unavailable($"no {what} within {HandshakeSeconds} (--timeout)", e);
        }
        catch (IOException e)
        {
            throw Unavailable($"handshake failed reading the {what}: {e.Message}", e);
        }
    }

    private void HandshakeWrite(ReadOnlySpan<byte> data)
    {
        try
        {
            _stream!.Write(data);
        }
        catch (IOException e)
        {
            throw Unavailable($"handshake failed: {e.Message}", e);
        }
    }

    private void RequireNoTls(OptionReply r)
    {
        if (r.Type == NbdWire.ErrTlsReqd)
            throw Unavailable(_uri.Tls ? $"the server still requires TLS{Message(r)}" : $"the server requires TLS, use nbds://{Message(r)}");
    }

    private SourceUnavailableException OptionFailed(string option, OptionReply r) =>
        Unavailable($"{option} refused: {NbdWire.ReplyName(r.Type)}{Message(r)}");

    /// <summary>The server's text for an error reply (UTF-8, control characters dropped), as ": text" or "".</summary>
    private static string Message(OptionReply r)
    {
        if ((r.Type & NbdWire.RepErrBit) == 0 || r.Payload.Length == 0) return "";
        return ": " + Printable(Encoding.UTF8.GetString(r.Payload, 0, Math.Min(r.Payload.Length, 4096)));
    }

    internal static string Printable(string s) => new(s.Select(c => char.IsControl(c) ? '?' : c).ToArray());

    private SourceUnavailableException Unavailable(string problem, Exception? inner = null) => new(_uri.Text, problem, inner);
}
