using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using VmdkMount.Core.Caching;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Transports.Http;
using VmdkMount.Fuse;
using VmdkMount.Tests.Fuse;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Transports;

/// <summary>A hostile or failing server: 200 to a Range, a file replaced under it, killed and restarted, down for good.</summary>
public sealed class HttpFaultTests : HttpChainTestBase
{
    [Fact]
    public void A_server_that_answers_200_to_a_range_request_is_refused()
    {
        Serve();
        using var server = StartServer();
        string url = server.Url("norange/vm%201/" + Top);
        var e = Assert.Throws<SourceUnavailableException>(() => Open(url));
        Assert.Contains("does not support range requests", e.Message);
        var cli = OurCli.Run("ls", url, "p1:/");
        Assert.Equal(2, cli.ExitCode);
        Assert.Contains("does not support range requests", cli.StdErr);
    }

    [Fact]
    public void A_file_replaced_under_the_server_between_reads_is_a_change_error()
    {
        string folder = Serve(copy: true);
        using var server = StartServer();
        using var disk = Open(server.Url("vm%201/" + Top));
        var buffer = new byte[4096];
        disk.ReadAt(0, buffer);
        // a backup rewritten in place: same size, other bytes, another mtime (nginx's ETag is mtime-size)
        string flat = Path.Combine(folder, "base flat-flat.vmdk");
        string tmp = flat + ".new";
        var bytes = File.ReadAllBytes(flat);
        bytes.AsSpan(4 << 20).Fill(0x77);
        File.WriteAllBytes(tmp, bytes);
        File.SetLastWriteTimeUtc(tmp, DateTime.UtcNow.AddHours(1));
        File.Move(tmp, flat, overwrite: true);
        var e = Assert.Throws<TransportException>(() => disk.ReadAt(16 << 20, buffer));
        Assert.Contains("changed while being read", e.Message);
        Assert.Contains("not a backup", e.Message);
        Assert.Contains("base%20flat-flat.vmdk", e.Message);
    }

    [Fact]
    public void A_server_killed_and_restarted_mid_read_gives_the_right_bytes_never_a_hang()
    {
        Serve();
        using var server = StartServer();
        // /slow/ sends at 4 MB/s a request, so the kill lands inside a response body
        using var disk = Open(server.Url("slow/vm%201/" + Top), new RemoteOptions { Timeout = TimeSpan.FromSeconds(15) }, new CacheBudget(4 << 20));
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 20];
        long pos = 0, killedAt = -1;
        Exception? killerFailed = null;
        var killer = new Thread(() =>
        {
            try
            {
                // by position, not by time: a busy machine may run this thread late
                var deadline = Stopwatch.StartNew();
                while (Volatile.Read(ref pos) < 4 << 20 && deadline.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(5);
                Volatile.Write(ref killedAt, Volatile.Read(ref pos));
                server.Kill();
                Thread.Sleep(1000);   // down for a second: connections refused, the reads retry with backoff
                server.Restart();
            }
            catch (Exception e)
            {
                killerFailed = e;
            }
        });
        var watch = Stopwatch.StartNew();
        killer.Start();
        while (pos < disk.Length)
        {
            int n = disk.ReadAt(pos, buffer);
            Assert.True(n > 0);
            sha.AppendData(buffer, 0, n);
            Volatile.Write(ref pos, pos + n);
        }
        Assert.True(killer.Join(TimeSpan.FromSeconds(30)));
        Assert.Null(killerFailed);
        Assert.InRange(killedAt, 0, disk.Length - 1);   // the server died in the middle of the read
        Assert.Equal(Expected, Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
    }

    [Fact]
    public void A_server_that_stays_down_fails_the_read_with_a_clear_error_within_the_timeout()
    {
        Serve();
        using var server = StartServer();
        using var disk = Open(server.Url("vm%201/" + Top), new RemoteOptions { Timeout = TimeSpan.FromSeconds(2), Retries = 3 });
        server.Kill();
        var watch = Stopwatch.StartNew();
        var e = Assert.Throws<TransportException>(() => disk.ReadAt(20 << 20, new byte[4096]));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(6), $"took {watch.Elapsed}");
        Assert.Contains($"127.0.0.1:{server.Port}", e.Message);
        Assert.Contains("bytes=", e.Message);
        Assert.Contains("attempts", e.Message);
    }
}
