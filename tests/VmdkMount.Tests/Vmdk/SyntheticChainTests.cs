using System.Diagnostics;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Tests.Infrastructure;
using Xunit.Abstractions;

namespace VmdkMount.Tests.Vmdk;

/// <summary>Chains far deeper than qemu can build quickly, from <see cref="VmdkTestWriter"/> (proven against qemu in <see cref="TestWriterProofTests"/>).</summary>
public class SyntheticChainTests(ITestOutputHelper log)
{
    [Fact]
    public void Chain_of_10000_links_opens_iteratively_and_reads_like_the_model()
    {
        string dir = RepoPaths.NewScratch("vmdk-deep10k");
        try
        {
            var sw = Stopwatch.StartNew();
            var (top, expected) = SyntheticChain.Build(dir, 10_000);
            log.WriteLine($"built 10,000 links in {sw.ElapsedMilliseconds} ms");
            sw.Restart();
            using var disk = (VmdkDisk)DiskOpener.Open(top);
            log.WriteLine($"opened in {sw.ElapsedMilliseconds} ms");
            Assert.Equal(10_000, disk.Links.Count);
            sw.Restart();
            var actual = new byte[expected.Length];
            Assert.Equal(actual.Length, disk.ReadAt(0, actual));
            log.WriteLine($"first full read in {sw.ElapsedMilliseconds} ms");
            Assert.True(expected.AsSpan().SequenceEqual(actual));
            // Second read comes from the owner map: no grain table of the 10,000 links is consulted again.
            sw.Restart();
            disk.ReadAt(0, actual);
            log.WriteLine($"second full read in {sw.ElapsedMilliseconds} ms");
            Assert.True(expected.AsSpan().SequenceEqual(actual));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Depth_limit_is_a_chain_error()
    {
        string dir = RepoPaths.NewScratch("vmdk-depth");
        try
        {
            var (top, _) = SyntheticChain.Build(dir, 20);
            var e = Assert.Throws<VmdkMount.Core.Errors.ChainException>(() => DiskOpener.Open(top, new DiskOpenOptions { MaxChainDepth = 10 }));
            Assert.Contains("deeper than 10", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Chain_of_2000_links_exports_correctly_under_ulimit_256()
    {
        string dir = RepoPaths.NewScratch("vmdk-ulimit");
        try
        {
            var (top, expected) = SyntheticChain.Build(dir, 2_000);
            string outFile = Path.Combine(dir, "flat.raw");
            string cli = Path.Combine(AppContext.BaseDirectory, "vmdkmount.dll");
            var r = Tool.Run("/bin/bash", ["-c", "ulimit -n 256 && exec dotnet \"$0\" export \"$1\" \"$2\"", cli, top, outFile], allowFailure: true,
                env: new Dictionary<string, string> { ["VMDKMOUNT_MAX_OPEN_FILES"] = "64" });
            Assert.True(r.ExitCode == 0, r.StdErr + r.StdOut);
            Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(outFile)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Handle_pool_keeps_open_files_bounded_while_reading_a_deep_chain()
    {
        string dir = RepoPaths.NewScratch("vmdk-pool");
        try
        {
            var (top, expected) = SyntheticChain.Build(dir, 300);
            var pool = new VmdkMount.Core.Transports.FileHandlePool(16);
            using var disk = VmdkDisk.OpenChain(top, new DiskOpenOptions(), pool);
            var actual = new byte[expected.Length];
            Parallel.For(0, 8, t =>
            {
                var buf = new byte[expected.Length];
                disk.ReadAt(0, buf);
                Assert.True(expected.AsSpan().SequenceEqual(buf));
            });
            Assert.True(pool.OpenCount <= 16, $"{pool.OpenCount} handles open");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
