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

/// <summary>Reads of a chain over HTTP from nginx: every byte against the local chain, the block cache, the CID search of listed folders.</summary>
public sealed class HttpRealServerTests : HttpChainTestBase
{
    [Fact]
    public void Every_byte_of_a_chain_read_over_http_hashes_like_the_local_chain_in_few_requests()
    {
        Serve();
        using var server = StartServer();
        string url = server.Url("vm%201/" + Top);
        using var local = DiskOpener.Open(Path.Combine(_images, Top));
        using var remote = Open(url);
        Assert.Equal(url, remote.Source);
        var chain = Assert.IsAssignableFrom<IDiskChain>(remote);
        Assert.Equal(4, chain.Links.Count);
        // the link whose name needs escaping was found by its hint, and its extent beside it, each escaped once
        Assert.Contains(chain.Links, l => l.Path == server.Url("vm%201/child%20%231%20100%25%20%C3%A9.vmdk"));
        Assert.Contains(remote.SourceFiles, f => f == server.Url("vm%201/child%20%231%20100%25%20%C3%A9-s001.vmdk"));
        Assert.Contains(remote.SourceFiles, f => f == server.Url("vm%201/base%20flat-flat.vmdk"));
        Assert.Equal(Expected, HashAll(local, 1 << 20));
        int before = File.ReadLines(server.AccessLog).Count();
        Assert.Equal(Expected, HashAll(remote, 1_000_003));   // odd steps: reads straddle blocks and requests
        int requests = File.ReadLines(server.AccessLog).Count() - before;
        // 24 MiB in 64 KiB blocks would be 384 requests: read-ahead and coalescing make them requests of up to 2 MiB
        Assert.True(requests < 60, $"{requests} requests for a sequential read of 24 MiB");
        Assert.Equal(0, server.CountRequests("\"GET ", "\" 200 "));   // never a whole file
    }

    [Fact]
    public void Small_reads_cost_no_round_trip_and_concurrent_misses_of_a_block_are_one_request()
    {
        string folder = Serve();
        using var server = StartServer();
        var store = new HttpSourceStore(server.Url("vm%201/" + Top), new RemoteOptions(), ReadAheadCache.On(new CacheBudget(64 << 20)));
        using var file = (HttpFile)store.Open(server.Url("vm%201/base%20flat-flat.vmdk"));
        byte[] local = File.ReadAllBytes(Path.Combine(folder, "base flat-flat.vmdk"));
        Assert.Equal(local.Length, file.Length);
        var buffer = new byte[512];
        for (int i = 0; i < 100; i++)
        {
            file.ReadAt(i * 512, buffer);   // all inside the block the open fetched
            Assert.True(local.AsSpan(i * 512, 512).SequenceEqual(buffer), $"bytes at {i * 512}");
        }
        Assert.Equal(0, file.Requests);
        long far = 13L << 20;
        // Eight reads inside one block, none starting where another ends: a read that follows another exactly is a
        // sequential reader and may rightly start read-ahead (a second request), depending on who arrives first.
        const int Spacing = ReadAheadCache.BlockSize / 8;
        Assert.True(Spacing > 4096);
        var barrier = new Barrier(8);
        var got = new byte[8][];
        var errors = new Exception?[8];
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            got[t] = new byte[4096];
            barrier.SignalAndWait();
            try { file.ReadAt(far + t * Spacing, got[t]); }
            catch (Exception e) { errors[t] = e; }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.All(errors, Assert.Null);
        for (int t = 0; t < 8; t++) Assert.True(local.AsSpan((int)far + t * Spacing, 4096).SequenceEqual(got[t]), $"bytes of thread {t}");
        Assert.Equal(1, file.Requests);
    }

    [Theory]
    [InlineData("list")]
    [InlineData("html")]
    public void A_renamed_parent_is_found_by_cid_search_where_the_server_lists_folders(string location)
    {
        string folder = Serve(false, "disk-000002.vmdk");
        File.CreateSymbolicLink(Path.Combine(folder, "renamed #2 é.vmdk"), Path.Combine(_images, "disk-000002.vmdk"));
        using var server = StartServer();
        using var disk = Open(server.Url($"{location}/vm%201/{Top}"));
        var link = ((IDiskChain)disk).Links[1];
        Assert.Equal(server.Url($"{location}/vm%201/renamed%20%232%20%C3%A9.vmdk"), link.Path);
        Assert.StartsWith("CID search", link.FoundBy);
        Assert.Equal(Expected, HashAll(disk, 4 << 20));
    }

    [Fact]
    public void A_missing_parent_is_a_clear_error_that_says_the_server_lists_no_folders()
    {
        Serve(false, "disk-000002.vmdk");
        using var server = StartServer();
        var e = Assert.Throws<ChainException>(() => Open(server.Url("vm%201/" + Top)));
        Assert.Contains("parent disk missing", e.Message);
        Assert.Contains("vm%201/disk-000002.vmdk", e.Message);
        Assert.Contains("does not list folders", e.Message);
        var cli = OurCli.Run("info", server.Url("vm%201/" + Top));
        Assert.Equal(2, cli.ExitCode);
        Assert.Contains("does not list folders", cli.StdErr);
    }
}
