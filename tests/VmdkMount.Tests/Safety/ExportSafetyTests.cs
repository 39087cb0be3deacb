using VmdkMount.Tests.Infrastructure;
using static VmdkMount.Tests.Safety.RestoreSafetyKit;

namespace VmdkMount.Tests.Safety;

/// <summary>`export` never overwrites a file of its own chain, refuses a folder as OUT, and replaces OUT atomically.</summary>
public class ExportSafetyTests
{
    /// <summary>A qemu-img base and a child whose parent it is, in a fresh folder.</summary>
    private static (string Scratch, string Base, string Child) MakeChain()
    {
        string scratch = RepoPaths.NewScratch("export-chain");
        string b = Path.Combine(scratch, "base.vmdk"), c = Path.Combine(scratch, "child.vmdk");
        Tool.Run("qemu-img", "create", "-q", "-f", "vmdk", b, "64M");
        Tool.Run("qemu-io", "-f", "vmdk", "-c", "write -P 0x5a 1M 1M", b);
        Tool.Run("qemu-img", "create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", c);
        Tool.Run("qemu-io", "-f", "vmdk", "-c", "write -P 0xa5 4M 1M", c);
        return (scratch, b, c);
    }

    [Fact]
    public void Export_onto_a_chain_file_or_a_folder_is_refused_before_writing()
    {
        var (scratch, b, c) = MakeChain();
        try
        {
            var hashes = new[] { b, c }.ToDictionary(f => f, Hashing.Sha256File);
            File.CreateSymbolicLink(Path.Combine(scratch, "alias.vmdk"), b);
            Tool.Run("ln", b, Path.Combine(scratch, "hard.vmdk"));
            foreach (var target in new[] { b, c, Path.Combine(scratch, "alias.vmdk"), Path.Combine(scratch, "hard.vmdk") })
            {
                var r = RunCli("export", c, target);
                Assert.Equal(2, r.ExitCode);
                Assert.Contains("chain", r.StdErr);
            }
            var dir = RunCli("export", c, scratch);
            Assert.Equal(2, dir.ExitCode);
            Assert.Contains("directory", dir.StdErr);
            foreach (var (f, h) in hashes) Assert.Equal(h, Hashing.Sha256File(f));
            Assert.Empty(Directory.EnumerateFiles(scratch, "*vmdkmount-*"));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void Export_replaces_an_existing_out_and_a_symlink_at_out_without_following_it()
    {
        var (scratch, _, c) = MakeChain();
        try
        {
            string victim = Path.Combine(scratch, "victim.txt");
            WriteText(victim, "not an image");
            string outLink = Path.Combine(scratch, "out.img");
            File.CreateSymbolicLink(outLink, victim);
            var r = RunCli("export", c, outLink);
            Assert.Equal(0, r.ExitCode);
            Assert.Equal("not an image", File.ReadAllText(victim));
            Assert.Null(new FileInfo(outLink).LinkTarget);
            Assert.Equal(64L << 20, new FileInfo(outLink).Length);
            var again = RunCli("export", c, outLink);
            Assert.Equal(0, again.ExitCode);
            Assert.Empty(Directory.EnumerateFiles(scratch, "*vmdkmount-*"));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>
    /// qemu-img 7.2 creates VMDKs of up to 64 TiB that it can also write (1 PiB and 256 TiB files come out with a grain
    /// directory beyond their end); the host's ext4 holds files below 16 TiB, so 8 TiB is what is exported here.
    /// </summary>
    [Fact]
    public void Export_of_a_mostly_empty_8_TiB_disk_is_sparse_and_bounded()
    {
        string scratch = RepoPaths.NewScratch("export-sparse");
        try
        {
            string disk = Path.Combine(scratch, "big.vmdk"), outFile = Path.Combine(scratch, "out.img");
            Tool.Run("qemu-img", "create", "-q", "-f", "vmdk", disk, "8T");
            Tool.Run("qemu-io", "-f", "vmdk", "-c", "write -P 0xab 5T 1M", disk);
            var r = OurCli.Run(["export", disk, outFile], timeout: TimeSpan.FromSeconds(90));
            Assert.Equal(0, r.ExitCode);
            Assert.Equal(8L << 40, new FileInfo(outFile).Length);
            long blocks = long.Parse(Tool.Run("stat", "-c", "%b", outFile).StdOut.Trim());
            Assert.InRange(blocks * 512, 1L << 20, 8L << 20);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>
    /// The safety issue's bound: a 1 PiB disk (a qemu-made sparse extent with 1 MiB of data, then a ZERO extent) exports
    /// in time proportional to its data, and OUT (on XFS: ext4 holds no file of 1 PiB) is 1 PiB long with about 1 MiB
    /// allocated. Walking the capacity per 32 MiB block, as export once did, took 34 s for `map` alone here (and over 60 s
    /// for map + export); now both take a fraction of a second, so 20 s is a generous bound that the old walk fails.
    /// </summary>
    [Fact]
    public void Export_of_a_1_PiB_disk_with_1_MiB_of_data_costs_its_data_only()
    {
        string scratch = RepoPaths.NewScratch("export-pib");
        try
        {
            const long capacity = 1L << 50;
            string disk = Vmdk.ZeroExtentDisk.Make(scratch, capacity);
            // qemu reads the same descriptor's sparse part: the pattern is where we expect it.
            Assert.Contains("twoGbMaxExtentSparse", Tool.Run("qemu-img", "info", disk).StdOut);
            Tool.Run("qemu-io", "-f", "vmdk", "-c", "read -P 0xab 0 1M", disk);

            var watch = System.Diagnostics.Stopwatch.StartNew();
            var map = OurCli.Run(["map", "--json", disk], timeout: TimeSpan.FromSeconds(30));
            Assert.Equal(0, map.ExitCode);
            var ranges = System.Text.Json.JsonDocument.Parse(map.StdOut).RootElement.GetProperty("ranges");
            Assert.Equal(1, ranges.GetArrayLength());
            Assert.Equal(0, ranges[0].GetProperty("offset").GetInt64());
            Assert.Equal(1L << 20, ranges[0].GetProperty("length").GetInt64());

            using var xfs = new XfsScratch("export-pib-out");
            string outFile = Path.Combine(xfs.Path, "out.img");
            var r = OurCli.Run(["export", disk, outFile], timeout: TimeSpan.FromSeconds(30));
            Assert.True(r.ExitCode == 0, r.StdErr);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"map + export took {watch.Elapsed}");
            Assert.Equal(capacity, new FileInfo(outFile).Length);
            long blocks = long.Parse(Tool.Run("stat", "-c", "%b", outFile).StdOut.Trim());
            Assert.InRange(blocks * 512, 1L << 20, 2L << 20);
            using var h = File.OpenHandle(outFile);
            var head = new byte[2 << 20];
            RandomAccess.Read(h, head, 0);
            Assert.All(head.AsSpan(0, 1 << 20).ToArray(), b => Assert.Equal(0xab, b));
            Assert.DoesNotContain(head.AsSpan(1 << 20).ToArray(), b => b != 0);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}
