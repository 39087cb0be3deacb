using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Transports.Nbd;

namespace VmdkMount.Fuzz.Harnesses;

/// <summary>
/// The NBD client against a scripted server: the input is what the server says, in segments (u16 length, bytes).
/// Segment 0 is sent when the client connects (greeting and every option reply: the client reads them in order,
/// whenever they come); segment k once the client has sent its k-th transmission request, so replies never arrive
/// before the request they answer. The client does what a mount does: handshake, a read, block status, a second read.
/// The server is a Unix socket of this process; everything stays on the machine.
/// </summary>
public static class NbdScript
{
    /// <summary>The client's --timeout: short, so an input that starves it costs well under AFL's 1 s hang bound.</summary>
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromMilliseconds(400);

    /// <summary>How long the server waits for the client's next request before it hangs up (the client may be waiting too).</summary>
    private const int ServerIdleMicroseconds = 30_000;
    private const int MaxSegments = 16;
    private static readonly byte[] RequestMagic = [0x25, 0x60, 0x95, 0x13];

    private static readonly Lazy<(Socket Listener, string Path)> Server = new(() =>
    {
        string path = Path.Combine(Path.GetTempPath(), $"vmdkmount-fuzz-nbd-{Environment.ProcessId}.sock");
        File.Delete(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(4);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => File.Delete(path);
        return (listener, path);
    });

    public static void Run(byte[] input)
    {
        var segments = Segments(input);
        var (listener, path) = Server.Value;
        var server = new Thread(() => Serve(listener, segments)) { IsBackground = true, Name = "fuzz-nbd-server" };
        server.Start();
        var uri = NbdUri.Parse($"nbd+unix:///export?socket={path}");
        try
        {
            NbdConnection conn;
            try
            {
                conn = NbdConnection.Open(uri, new RemoteOptions { Timeout = ClientTimeout, Retries = 0 });
            }
            catch (Exception e) when (IsExpected(e))
            {
                return;
            }
            using (conn)
            {
                int first = (int)Math.Clamp(conn.ExportSize, 0, 4096);
                var buffer = new byte[4096];
                if (first > 0) Tolerate(() => conn.Read(0, first, buffer, out _));
                if (conn.AllocationContext is not null) Tolerate(() => conn.BlockStatus(0, (int)Math.Min(conn.ExportSize, 1 << 20)));
                if (conn.ExportSize >= 8192) Tolerate(() => conn.Read(4096, 512, buffer, out _));
            }
        }
        finally
        {
            // the client is closed: the server sees the end of its stream at once
            server.Join(TimeSpan.FromSeconds(2));
        }
    }

    /// <summary>
    /// A lost connection is the documented outcome of a bad server, but it carries the reader thread's exception as
    /// its inner one: an IndexOutOfRangeException there is a bug caught only by the thread's last resort.
    /// </summary>
    private static bool IsExpected(Exception e)
    {
        if (!ExpectedErrors.IsExpected(e)) return false;
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
            if (inner is not (VmdkMountException or IOException or SocketException or ObjectDisposedException))
                return false;
        return true;
    }

    private static void Tolerate(Action step)
    {
        try
        {
            step();
        }
        catch (Exception e) when (IsExpected(e))
        {
        }
    }

    private static List<byte[]> Segments(byte[] input)
    {
        var list = new List<byte[]>();
        int at = 0;
        while (at + 2 <= input.Length && list.Count < MaxSegments)
        {
            int n = Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(input.AsSpan(at)), input.Length - at - 2);
            list.Add(input.AsSpan(at + 2, n).ToArray());
            at += 2 + n;
        }
        return list;
    }

    private static void Serve(Socket listener, List<byte[]> segments)
    {
        using var socket = listener.Accept();
        try
        {
            var seen = new List<byte>();
            int requests = 0, sent = 0;
            var buffer = new byte[4096];
            // each pass either sends a segment, or reads client bytes, or ends: bounded by the segments and the idle wait
            while (true)
            {
                if (sent < segments.Count && sent <= requests)
                {
                    socket.Send(segments[sent++]);
                    if (sent == segments.Count) socket.Shutdown(SocketShutdown.Send);
                    continue;
                }
                if (!socket.Poll(ServerIdleMicroseconds, SelectMode.SelectRead)) break;
                int n = socket.Receive(buffer);
                if (n <= 0) break;
                seen.AddRange(buffer.AsSpan(0, n));
                requests = Count(seen);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // the client hung up first
        }
    }

    private static int Count(List<byte> bytes)
    {
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes);
        int count = 0;
        for (int at = span.IndexOf(RequestMagic); at >= 0; at = span.IndexOf(RequestMagic))
        {
            count++;
            span = span[(at + 4)..];
        }
        return count;
    }

    /// <summary>Sessions as qemu-nbd and nbdkit play them: structured with block status, and simple replies only.</summary>
    public static IEnumerable<FuzzSeed> Seeds()
    {
        const long size = 1 << 20;
        yield return new FuzzSeed("nbd-structured", Script(
            Handshake(structured: true, size),
            DataChunk(1, 0, 4096),
            BlockStatusChunk(2, [(65536, 0), (size - 65536, 3)]),
            HoleChunk(3, 4096, 512)));
        yield return new FuzzSeed("nbd-simple", Script(
            Handshake(structured: false, size),
            SimpleReply(1, 0, new byte[4096]),
            SimpleReply(2, 0, new byte[512])));
        yield return new FuzzSeed("nbd-error", Script(
            Handshake(structured: true, size),
            ErrorChunk(1, 5, "injected"),
            BlockStatusChunk(2, [(size, 0)]),
            SimpleReply(3, 5, [])));
    }

    private static byte[] Script(params byte[][] segments)
    {
        var m = new MemoryStream();
        foreach (var s in segments)
        {
            m.Write(BitConverter.GetBytes((ushort)s.Length));
            m.Write(s);
        }
        return m.ToArray();
    }

    private static byte[] Handshake(bool structured, long size)
    {
        var m = new MemoryStream();
        void U64(ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64BigEndian(b, v); m.Write(b); }
        void U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32BigEndian(b, v); m.Write(b); }
        void U16(ushort v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16BigEndian(b, v); m.Write(b); }
        void Reply(uint option, uint type, byte[] payload) { U64(NbdWire.OptReplyMagic); U32(option); U32(type); U32((uint)payload.Length); m.Write(payload); }
        U64(NbdWire.InitPasswd);
        U64(NbdWire.OptMagic);
        U16(NbdWire.FlagFixedNewstyle | NbdWire.FlagNoZeroes);
        if (structured)
        {
            Reply(NbdWire.OptStructuredReply, NbdWire.RepAck, []);
            Reply(NbdWire.OptSetMetaContext, NbdWire.RepMetaContext, [0, 0, 0, 1, .. Encoding.ASCII.GetBytes(NbdWire.BaseAllocation)]);
            Reply(NbdWire.OptSetMetaContext, NbdWire.RepAck, []);
        }
        else
        {
            Reply(NbdWire.OptStructuredReply, NbdWire.ErrUnsup, []);
        }
        var export = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(export, NbdWire.InfoExport);
        BinaryPrimitives.WriteUInt64BigEndian(export.AsSpan(2), (ulong)size);
        BinaryPrimitives.WriteUInt16BigEndian(export.AsSpan(10), NbdWire.TxHasFlags);
        Reply(NbdWire.OptGo, NbdWire.RepInfo, export);
        var blocks = new byte[14];
        BinaryPrimitives.WriteUInt16BigEndian(blocks, NbdWire.InfoBlockSize);
        BinaryPrimitives.WriteUInt32BigEndian(blocks.AsSpan(2), 1);
        BinaryPrimitives.WriteUInt32BigEndian(blocks.AsSpan(6), 4096);
        BinaryPrimitives.WriteUInt32BigEndian(blocks.AsSpan(10), 32 << 20);
        Reply(NbdWire.OptGo, NbdWire.RepInfo, blocks);
        Reply(NbdWire.OptGo, NbdWire.RepAck, []);
        return m.ToArray();
    }

    private static byte[] ChunkHeader(ulong cookie, ushort type, uint length, bool done = true)
    {
        var h = new byte[NbdWire.ChunkHeaderSize];
        BinaryPrimitives.WriteUInt32BigEndian(h, NbdWire.ChunkMagic);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(4), done ? NbdWire.ReplyFlagDone : (ushort)0);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(6), type);
        BinaryPrimitives.WriteUInt64BigEndian(h.AsSpan(8), cookie);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(16), length);
        return h;
    }

    private static byte[] DataChunk(ulong cookie, ulong offset, int count)
    {
        var payload = new byte[8 + count];
        BinaryPrimitives.WriteUInt64BigEndian(payload, offset);
        for (int i = 0; i < count; i++) payload[8 + i] = (byte)(i * 13);
        return [.. ChunkHeader(cookie, NbdWire.ChunkOffsetData, (uint)payload.Length), .. payload];
    }

    private static byte[] HoleChunk(ulong cookie, ulong offset, uint count)
    {
        var payload = new byte[12];
        BinaryPrimitives.WriteUInt64BigEndian(payload, offset);
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(8), count);
        return [.. ChunkHeader(cookie, NbdWire.ChunkOffsetHole, 12), .. payload];
    }

    private static byte[] BlockStatusChunk(ulong cookie, (long Length, uint Flags)[] extents)
    {
        var payload = new byte[4 + 8 * extents.Length];
        BinaryPrimitives.WriteUInt32BigEndian(payload, 1);
        for (int i = 0; i < extents.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(4 + 8 * i), (uint)extents[i].Length);
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(8 + 8 * i), extents[i].Flags);
        }
        return [.. ChunkHeader(cookie, NbdWire.ChunkBlockStatus, (uint)payload.Length), .. payload];
    }

    private static byte[] ErrorChunk(ulong cookie, uint error, string message)
    {
        var text = Encoding.UTF8.GetBytes(message);
        var payload = new byte[6 + text.Length];
        BinaryPrimitives.WriteUInt32BigEndian(payload, error);
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(4), (ushort)text.Length);
        text.CopyTo(payload, 6);
        return [.. ChunkHeader(cookie, NbdWire.ChunkError, (uint)payload.Length), .. payload];
    }

    private static byte[] SimpleReply(ulong cookie, uint error, byte[] data)
    {
        var h = new byte[NbdWire.SimpleReplySize];
        BinaryPrimitives.WriteUInt32BigEndian(h, NbdWire.SimpleReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4), error);
        BinaryPrimitives.WriteUInt64BigEndian(h.AsSpan(8), cookie);
        return [.. h, .. data];
    }
}
