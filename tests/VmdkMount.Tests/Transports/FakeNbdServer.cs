using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace VmdkMount.Tests.Transports;

/// <summary>
/// A tiny hand-written NBD server for hostile replies: accepts one client on 127.0.0.1 and runs a script that writes
/// exactly the bytes a test wants. When the script returns true the connection is held open (silent) until Dispose,
/// so that a client that waited for more would hang were it not for its timeout.
/// </summary>
internal sealed class FakeNbdServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ManualResetEventSlim _stop = new(false);
    private readonly Thread _thread;

    /// <summary>On a thread of its own (not the thread pool, which a loaded test run may starve).</summary>
    public FakeNbdServer(Func<Stream, bool> script)
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _thread = new Thread(() =>
        {
            try
            {
                using var client = _listener.AcceptTcpClient();
                client.NoDelay = true;
                using var stream = client.GetStream();
                bool hold;
                try
                {
                    hold = script(stream);
                }
                catch (Exception e) when (e is IOException or EndOfStreamException or ObjectDisposedException)
                {
                    hold = false;   // the client hung up: that is what many tests expect
                }
                if (hold) _stop.Wait();
            }
            catch (SocketException)
            {
                // stopped before a client came
            }
        }) { IsBackground = true, Name = "fake-nbd" };
        _thread.Start();
    }

    public int Port { get; }

    public string Uri => $"nbd://127.0.0.1:{Port}/x";

    /// <summary>Whatever the script recorded (e.g. the last request type seen).</summary>
    public volatile int Recorded = -1;

    public void Dispose()
    {
        _stop.Set();
        _listener.Stop();
        _thread.Join(TimeSpan.FromSeconds(5));
    }

    // ---- the server's side of the protocol ------------------------------------------------------------------

    public const uint Ack = 1, Info = 3, MetaContext = 4, ErrUnsup = 0x80000001;

    public static void Greet(Stream s, ushort flags = 3)
    {
        var g = new byte[18];
        Encoding.ASCII.GetBytes("NBDMAGICIHAVEOPT").CopyTo(g, 0);
        BinaryPrimitives.WriteUInt16BigEndian(g.AsSpan(16), flags);
        s.Write(g);
        var clientFlags = new byte[4];
        s.ReadExactly(clientFlags);
    }

    public static (uint Option, byte[] Data) ReadOption(Stream s)
    {
        var h = new byte[16];
        s.ReadExactly(h);
        var data = new byte[BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(12))];
        s.ReadExactly(data);
        return (BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(8)), data);
    }

    public static void OptionReply(Stream s, uint option, uint type, byte[]? payload = null, uint? claimedLength = null)
    {
        payload ??= [];
        var h = new byte[20];
        BinaryPrimitives.WriteUInt64BigEndian(h, 0x0003E889045565A9);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(12), type);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(16), claimedLength ?? (uint)payload.Length);
        s.Write(h);
        s.Write(payload);
    }

    public static byte[] InfoExport(ulong size, ushort flags = 0x0003)
    {
        var p = new byte[12];
        BinaryPrimitives.WriteUInt64BigEndian(p.AsSpan(2), size);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), flags);
        return p;
    }

    public static byte[] InfoBlockSize(uint min, uint preferred, uint max)
    {
        var p = new byte[14];
        BinaryPrimitives.WriteUInt16BigEndian(p, 3);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(2), min);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(6), preferred);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(10), max);
        return p;
    }

    /// <summary>A well-behaved handshake: SR as asked, base:allocation as context 7 when offered, GO with size (and block sizes).</summary>
    public static void Handshake(Stream s, ulong size = 1 << 20, bool structured = true, bool allocation = false, byte[]? blockSizes = null)
    {
        Greet(s);
        while (true)
        {
            var (option, _) = ReadOption(s);
            switch (option)
            {
                case 8:
                    OptionReply(s, 8, structured ? Ack : ErrUnsup);
                    break;
                case 10:
                    if (allocation)
                    {
                        var p = new byte[4 + 15];
                        BinaryPrimitives.WriteUInt32BigEndian(p, 7);
                        Encoding.ASCII.GetBytes("base:allocation").CopyTo(p, 4);
                        OptionReply(s, 10, MetaContext, p);
                    }
                    OptionReply(s, 10, Ack);
                    break;
                case 7:
                    OptionReply(s, 7, Info, InfoExport(size));
                    if (blockSizes is not null) OptionReply(s, 7, Info, blockSizes);
                    OptionReply(s, 7, Ack);
                    return;
                default:
                    OptionReply(s, option, ErrUnsup);
                    break;
            }
        }
    }

    public readonly record struct Request(ushort Type, ulong Cookie, ulong Offset, uint Length);

    public static Request ReadRequest(Stream s)
    {
        var h = new byte[28];
        s.ReadExactly(h);
        return new Request(BinaryPrimitives.ReadUInt16BigEndian(h.AsSpan(6)), BinaryPrimitives.ReadUInt64BigEndian(h.AsSpan(8)),
            BinaryPrimitives.ReadUInt64BigEndian(h.AsSpan(16)), BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(24)));
    }

    public static void SimpleReply(Stream s, ulong cookie, uint error = 0, byte[]? data = null, uint magic = 0x67446698)
    {
        var h = new byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(h, magic);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4), error);
        BinaryPrimitives.WriteUInt64BigEndian(h.AsSpan(8), cookie);
        s.Write(h);
        if (data is not null) s.Write(data);
    }

    public static void Chunk(Stream s, ushort flags, ushort type, ulong cookie, byte[] payload, uint? claimedLength = null)
    {
        var h = new byte[20];
        BinaryPrimitives.WriteUInt32BigEndian(h, 0x668E33EF);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(6), type);
        BinaryPrimitives.WriteUInt64BigEndian(h.AsSpan(8), cookie);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(16), claimedLength ?? (uint)payload.Length);
        s.Write(h);
        s.Write(payload);
    }

    public static byte[] Data(ulong offset, byte[] data)
    {
        var p = new byte[8 + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(p, offset);
        data.CopyTo(p, 8);
        return p;
    }

    public static byte[] Hole(ulong offset, uint size)
    {
        var p = new byte[12];
        BinaryPrimitives.WriteUInt64BigEndian(p, offset);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(8), size);
        return p;
    }

    public static byte[] Error(uint error, string message)
    {
        var m = Encoding.UTF8.GetBytes(message);
        var p = new byte[6 + m.Length];
        BinaryPrimitives.WriteUInt32BigEndian(p, error);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)m.Length);
        m.CopyTo(p, 6);
        return p;
    }

    public static byte[] Extents(uint context, params (uint Length, uint Flags)[] extents)
    {
        var p = new byte[4 + 8 * extents.Length];
        BinaryPrimitives.WriteUInt32BigEndian(p, context);
        for (int i = 0; i < extents.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(4 + 8 * i), extents[i].Length);
            BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(8 + 8 * i), extents[i].Flags);
        }
        return p;
    }
}
