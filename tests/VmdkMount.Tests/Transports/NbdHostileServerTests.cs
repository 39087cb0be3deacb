using System.Diagnostics;
using System.Text;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Transports.Nbd;
using static VmdkMount.Tests.Transports.FakeNbdServer;

namespace VmdkMount.Tests.Transports;

/// <summary>
/// An NBD server is untrusted input. A fake server sends crafted bytes; every case must end in a clear error (naming
/// the server, and the request in transmission) within a bound, never a hang, a huge allocation or wrong bytes.
/// </summary>
public sealed class NbdHostileServerTests
{
    private static readonly RemoteOptions Quick = new() { Timeout = TimeSpan.FromSeconds(3), Retries = 0 };
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    /// <summary>Runs <paramref name="action"/> on another thread and fails the test if it does not end within <see cref="Bound"/>.</summary>
    private static T Bounded<T>(Func<T> action)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { result = action(); }
            catch (Exception e) { failure = e; }
        }) { IsBackground = true };
        thread.Start();
        Assert.True(thread.Join(Bound), $"still running after {Bound}: a hang");
        if (failure is not null) throw new InvalidOperationException("the bounded action failed", failure);
        return result;
    }

    private static Exception OpenFails(Func<Stream, bool> script)
    {
        using var server = new FakeNbdServer(script);
        var e = Bounded(() => Record.Exception(() => NbdDisk.Open(server.Uri, Quick).Dispose()));
        Assert.NotNull(e);
        Assert.Contains(server.Uri, e.Message);
        return e;
    }

    /// <summary>A well-behaved handshake, then <paramref name="reply"/> answers the first request; returns what the read threw.</summary>
    private static Exception ReadFails(Action<Stream, Request> reply, bool structured = true, int length = 4096)
    {
        using var server = new FakeNbdServer(s =>
        {
            Handshake(s, structured: structured);
            reply(s, ReadRequest(s));
            return true;
        });
        using var disk = NbdDisk.Open(server.Uri, Quick);
        var e = Bounded(() => Record.Exception(() => disk.ReadAt(0, new byte[length])));
        var t = Assert.IsType<TransportException>(e);
        Assert.Contains(server.Uri, t.Message);
        Assert.Contains($"read {length} bytes at 0", t.Message);
        // the connection is dead afterwards, and says so at once
        var again = Bounded(() => Record.Exception(() => disk.ReadAt(0, new byte[1])));
        Assert.Contains("lost earlier", Assert.IsType<TransportException>(again).Message);
        return t;
    }

    [Fact]
    public void An_oldstyle_or_garbage_greeting_is_refused()
    {
        Assert.Contains("oldstyle", OpenFails(s =>
        {
            s.Write(Encoding.ASCII.GetBytes("NBDMAGIC"));
            s.Write(new byte[] { 0, 0, 0x42, 0x02, 0x81, 0x86, 0x12, 0x53, 0, 0 });
            return true;
        }).Message);
        Assert.Contains("not an NBD server", OpenFails(s =>
        {
            s.Write(Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\n\r\n"));
            return true;
        }).Message);
    }

    [Fact]
    public void A_silent_server_times_out_in_the_handshake()
    {
        var clock = Stopwatch.StartNew();
        var e = OpenFails(_ => true);
        Assert.Contains("within 3 s", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public void A_server_trickling_its_handshake_byte_by_byte_times_out_as_a_whole()
    {
        var clock = Stopwatch.StartNew();
        var e = OpenFails(s =>
        {
            Greet(s);
            ReadOption(s);
            var reply = new MemoryStream();
            OptionReply(reply, 8, 2, new byte[60000]);      // the header at once, then the payload a byte per 200 ms
            var bytes = reply.ToArray();
            s.Write(bytes, 0, 20);
            foreach (byte b in bytes[20..])
            {
                s.WriteByte(b);
                Thread.Sleep(200);
            }
            return true;
        });
        Assert.Contains("handshake not finished within 3 s", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Absurd_export_sizes_and_block_sizes_are_refused()
    {
        Assert.Contains("absurd", OpenFails(s => { ServeGo(s, InfoExport(ulong.MaxValue)); return true; }).Message);
        Assert.Contains("minimum block size 3", OpenFails(s => { ServeGo(s, InfoExport(1 << 20), InfoBlockSize(3, 4096, 1 << 20)); return true; }).Message);
        Assert.Contains("minimum block size 1048576", OpenFails(s => { ServeGo(s, InfoExport(1 << 20), InfoBlockSize(1 << 20, 1 << 20, 1 << 20)); return true; }).Message);
        Assert.Contains("maximum payload 100", OpenFails(s => { ServeGo(s, InfoExport(1 << 20), InfoBlockSize(512, 512, 100)); return true; }).Message);
        Assert.Contains("without NBD_INFO_EXPORT", OpenFails(s => { ServeGo(s); return true; }).Message);
        Assert.Contains("NBD_INFO_EXPORT of 14 bytes", OpenFails(s => { ServeGo(s, new byte[14]); return true; }).Message);
    }

    /// <summary>Answers SR and SET_META_CONTEXT with ERR_UNSUP, then GO with the given INFO payloads and an ACK.</summary>
    private static void ServeGo(Stream s, params byte[][] infos)
    {
        Greet(s);
        while (true)
        {
            var (option, _) = ReadOption(s);
            if (option != 7)
            {
                OptionReply(s, option, ErrUnsup);
                continue;
            }
            foreach (var info in infos) OptionReply(s, 7, Info, info);
            OptionReply(s, 7, Ack);
            return;
        }
    }

    [Fact]
    public void Endless_or_huge_option_replies_are_bounded()
    {
        var e = OpenFails(s =>
        {
            Greet(s);
            while (ReadOption(s).Option != 7) OptionReply(s, 8, ErrUnsup);
            for (int i = 0; i < 100_000; i++) OptionReply(s, 7, 2, Encoding.ASCII.GetBytes("description"));
            return true;
        });
        Assert.Contains("more than 256 replies", e.Message);
        Assert.Contains("option reply of 4294967040 bytes", OpenFails(s =>
        {
            Greet(s);
            ReadOption(s);
            OptionReply(s, 8, Ack, claimedLength: 0xFFFFFF00);
            return true;
        }).Message);
        Assert.Contains("answered option 3", OpenFails(s =>
        {
            Greet(s);
            ReadOption(s);
            OptionReply(s, 3, Ack);
            return true;
        }).Message);
    }

    [Fact]
    public void A_server_requiring_tls_is_told_apart_from_a_missing_export()
    {
        Assert.Contains("use nbds://", OpenFails(s =>
        {
            Greet(s);
            ReadOption(s);
            OptionReply(s, 8, 0x80000005, Encoding.ASCII.GetBytes("Option 0x8 not permitted before TLS"));
            return true;
        }).Message);
    }

    [Fact]
    public void A_reply_for_a_cookie_nobody_sent_fails_the_read()
    {
        var e = ReadFails((s, r) => Chunk(s, 1, 1, r.Cookie + 1000, Data(0, new byte[4096])));
        Assert.Contains("cookie", e.Message);
    }

    [Fact]
    public void Garbage_where_a_reply_belongs_fails_the_read()
    {
        Assert.Contains("garbage", ReadFails((s, r) => s.Write(Encoding.ASCII.GetBytes("hello, this is not a reply at all"))).Message);
    }

    [Fact]
    public void A_reply_cut_short_fails_the_read()
    {
        var e = ReadFails((s, r) =>
        {
            SimpleReply(s, r.Cookie, data: new byte[1000]);
            s.Close();
        }, structured: false);
        Assert.Contains("middle of the reply", e.Message);
    }

    [Fact]
    public void Data_outside_the_request_or_longer_than_it_fails_the_read()
    {
        Assert.Contains("outside", ReadFails((s, r) => Chunk(s, 1, 1, r.Cookie, Data(2048, new byte[4096]))).Message);
        // a chunk claiming 1 GiB: refused from its header, nothing allocated or read
        Assert.Contains("data chunk of 1073741832 bytes", ReadFails((s, r) => Chunk(s, 1, 1, r.Cookie, Data(0, new byte[16]), claimedLength: (1u << 30) + 8)).Message);
        Assert.Contains("hole of 8192 bytes", ReadFails((s, r) => Chunk(s, 1, 2, r.Cookie, Hole(0, 8192))).Message);
    }

    [Fact]
    public void A_reply_that_leaves_bytes_unsent_or_sends_some_twice_fails_the_read()
    {
        Assert.Contains("unsent", ReadFails((s, r) => Chunk(s, 1, 1, r.Cookie, Data(0, new byte[2048]))).Message);
        Assert.Contains("overlapping", ReadFails((s, r) =>
        {
            Chunk(s, 0, 1, r.Cookie, Data(0, new byte[3000]));
            Chunk(s, 1, 2, r.Cookie, Hole(2048, 2048));
        }).Message);
        Assert.Contains("more than 65536 chunks", ReadFails((s, r) =>
        {
            for (int i = 0; i < 70_000; i++) Chunk(s, 0, 2, r.Cookie, Hole(0, 1));
        }).Message);
    }

    [Fact]
    public void Structured_chunks_that_were_not_agreed_and_unknown_chunk_types_fail_the_read()
    {
        Assert.Contains("not agreed", ReadFails((s, r) => Chunk(s, 1, 1, r.Cookie, Data(0, new byte[4096])), structured: false).Message);
        Assert.Contains("unknown chunk type 77", ReadFails((s, r) => Chunk(s, 1, 77, r.Cookie, new byte[8])).Message);
    }

    [Fact]
    public void A_reply_that_stops_halfway_times_out()
    {
        var clock = Stopwatch.StartNew();
        var e = ReadFails((s, r) => s.Write(new byte[] { 0x66, 0x8E, 0x33, 0xEF, 0, 1, 0, 1 }));
        Assert.Contains("no reply within 3 s", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(12), $"took {clock.Elapsed}");
    }

    [Fact]
    public void An_error_chunk_fails_only_its_read_with_the_servers_message_and_holes_read_as_zeros()
    {
        byte[] pattern = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 + 1)).ToArray();
        using var server = new FakeNbdServer(s =>
        {
            Handshake(s);
            var first = ReadRequest(s);
            Chunk(s, 0, 0x8001, first.Cookie, Error(5, "disk on fire\n"));
            Chunk(s, 1, 0, first.Cookie, []);
            var dirty = ReadRequest(s);
            Chunk(s, 1, 1, dirty.Cookie, Data(dirty.Offset, Enumerable.Repeat((byte)0xAB, (int)dirty.Length).ToArray()));
            var second = ReadRequest(s);
            Chunk(s, 0, 2, second.Cookie, Hole(second.Offset + 1024, 2048));
            Chunk(s, 0, 1, second.Cookie, Data(second.Offset, pattern[..1024]));
            Chunk(s, 1, 1, second.Cookie, Data(second.Offset + 3072, pattern[3072..]));
            return true;
        });
        using var disk = NbdDisk.Open(server.Uri, Quick);
        var e = Assert.IsType<TransportException>(Bounded(() => Record.Exception(() => disk.ReadAt(0, new byte[4096]))));
        Assert.Contains("EIO (5): disk on fire?", e.Message);
        // a first read leaves the client's pooled buffer dirty (same thread, same pool), so a hole not cleared would show
        var buf = new byte[4096];
        Assert.Equal(4096, disk.ReadAt(4096, buf));
        Assert.All(buf, b => Assert.Equal(0xAB, b));
        Assert.Equal(4096, disk.ReadAt(8192, buf));
        Assert.Equal(pattern[..1024], buf[..1024]);
        Assert.All(buf[1024..3072], b => Assert.Equal(0, b));
        Assert.Equal(pattern[3072..], buf[3072..]);
    }

    [Fact]
    public void Block_status_is_clamped_to_the_request_and_bad_extents_are_errors()
    {
        using (var server = new FakeNbdServer(s =>
        {
            Handshake(s, size: 1 << 20, allocation: true);
            var r = ReadRequest(s);
            // a hole with undefined contents (HOLE without ZERO) must still be read, and allocated zeros (ZERO without
            // HOLE) are allocated as qemu-img map says; only HOLE|ZERO is unallocated. The last extent runs far past the export.
            Chunk(s, 1, 5, r.Cookie, Extents(7, (4096, 0), (8192, 3), (4096, 1), (4096, 2), (64u << 20, 0)));
            return true;
        }))
        {
            using var disk = NbdDisk.Open(server.Uri, Quick);
            Assert.True(disk.HasBlockStatus);
            var ranges = Bounded(() => disk.QueryAllocated(0, disk.Length).ToArray());
            Assert.Equal([new AllocatedRange(0, 4096), new AllocatedRange(12288, (1 << 20) - 12288)], ranges);
        }
        foreach (var (extents, expect) in new[]
        {
            (Extents(7, (0, 0)), "length 0"),
            (Extents(9, (4096, 0)), "context 9"),
        })
        {
            using var server = new FakeNbdServer(s =>
            {
                Handshake(s, allocation: true);
                var r = ReadRequest(s);
                Chunk(s, 1, 5, r.Cookie, extents);
                return true;
            });
            using var disk = NbdDisk.Open(server.Uri, Quick);
            var e = Bounded(() => Record.Exception(() => disk.QueryAllocated(0, disk.Length).ToArray()));
            Assert.Contains(expect, Assert.IsType<TransportException>(e).Message);
        }
    }

    [Fact]
    public void A_server_without_fixed_newstyle_or_without_GO_is_read_through_EXPORT_NAME()
    {
        byte[] pattern = Enumerable.Range(0, 8192).Select(i => (byte)(i * 13)).ToArray();
        foreach (bool fixedNewstyle in new[] { false, true })
        {
            using var server = new FakeNbdServer(s =>
            {
                Greet(s, flags: fixedNewstyle ? (ushort)1 : (ushort)0);      // no NO_ZEROES: 124 zero bytes follow
                while (true)
                {
                    var (option, data) = ReadOption(s);
                    if (option == 1)
                    {
                        Assert.Equal("x", Encoding.UTF8.GetString(data));
                        var reply = new byte[134];
                        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(reply, 8192);
                        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(8), 3);
                        s.Write(reply);
                        break;
                    }
                    OptionReply(s, option, ErrUnsup);                     // SR, SET_META_CONTEXT, GO: "unknown"
                }
                var r = ReadRequest(s);
                SimpleReply(s, r.Cookie, data: pattern.AsSpan((int)r.Offset, (int)r.Length).ToArray());
                return true;
            });
            using var disk = NbdDisk.Open(server.Uri, Quick);
            Assert.Equal(8192, disk.Length);
            Assert.False(disk.StructuredReplies);
            var buf = new byte[8192];
            Assert.Equal(8192, Bounded(() => disk.ReadAt(0, buf)));
            Assert.Equal(pattern, buf);
        }
    }

    [Fact]
    public void Retries_against_a_server_that_accepts_but_never_greets_end_within_the_timeout()
    {
        // the first client is served until its first read, which hangs up; every later client is accepted and ignored
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var held = new List<System.Net.Sockets.TcpClient>();
        var acceptor = new Thread(() =>
        {
            try
            {
                for (int n = 0; n < 50; n++)
                {
                    var client = listener.AcceptTcpClient();
                    lock (held) held.Add(client);
                    if (n > 0) continue;
                    var s = client.GetStream();
                    Handshake(s);
                    ReadRequest(s);
                    client.Client.Shutdown(System.Net.Sockets.SocketShutdown.Both);
                }
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or ObjectDisposedException)
            {
            }
        }) { IsBackground = true };
        acceptor.Start();
        try
        {
            using var disk = NbdDisk.Open($"nbd://127.0.0.1:{port}/x", new RemoteOptions { Timeout = TimeSpan.FromSeconds(3), Retries = 5 });
            var clock = Stopwatch.StartNew();
            var e = Assert.IsType<TransportException>(Bounded(() => Record.Exception(() => disk.ReadAt(0, new byte[4096]))));
            Assert.Contains("gave up after", e.Message);
            Assert.Contains("--timeout of 3 s being spent", e.Message);
            // five reconnects of 3 s each would take 15 s or more
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(7), $"took {clock.Elapsed}");
        }
        finally
        {
            listener.Stop();
            lock (held) foreach (var c in held) c.Dispose();
            acceptor.Join(TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public void Dispose_says_goodbye_with_NBD_CMD_DISC()
    {
        FakeNbdServer? server = null;
        server = new FakeNbdServer(s =>
        {
            Handshake(s, structured: false);
            var r = ReadRequest(s);
            SimpleReply(s, r.Cookie, data: new byte[r.Length]);
            server!.Recorded = ReadRequest(s).Type;
            return false;
        });
        using (server)
        {
            var disk = NbdDisk.Open(server.Uri, Quick);
            Assert.Equal(512, disk.ReadAt(0, new byte[512]));
            disk.Dispose();
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (server.Recorded < 0 && DateTime.UtcNow < deadline) Thread.Sleep(20);
            Assert.Equal(2, server.Recorded);
        }
    }

    [Fact]
    public void A_connection_dying_under_a_window_of_reads_into_the_callers_memory_fails_cleanly_with_the_first_bytes_right()
    {
        // 8 requests of 64 KiB in flight, read straight into the destination; the server answers the first, sends half
        // of the second and hangs up. The read must fail naming that request, only after the reader stopped writing.
        const int piece = 64 << 10;
        var content = new byte[8 * piece];
        new Random(7).NextBytes(content);
        int seen = 0;
        using var server = new FakeNbdServer(s =>
        {
            Handshake(s, size: (ulong)content.Length, structured: false);
            var requests = new List<Request>();
            for (int i = 0; i < 8; i++) requests.Add(ReadRequest(s));
            seen = requests.Count;
            SimpleReply(s, requests[0].Cookie, data: content.AsSpan(0, piece).ToArray());
            SimpleReply(s, requests[1].Cookie, data: content.AsSpan(piece, piece / 2).ToArray());
            s.Close();
            return false;
        });
        using var disk = NbdDisk.Open(server.Uri, Quick with { MaxRequestBytes = piece });
        var into = new byte[content.Length];
        var e = Bounded(() => Record.Exception(() => disk.ReadAt(0, into)));
        var t = Assert.IsType<TransportException>(e);
        Assert.Contains($"read {piece} bytes at {piece}", t.Message);
        Assert.Equal(8, seen);
        Assert.True(into.AsSpan(0, piece).SequenceEqual(content.AsSpan(0, piece)), "the first request's bytes");
        // nothing writes into the buffer after the failed read returned
        var after = (byte[])into.Clone();
        Thread.Sleep(200);
        Assert.True(after.AsSpan().SequenceEqual(into), "written after the read returned");
    }
}
