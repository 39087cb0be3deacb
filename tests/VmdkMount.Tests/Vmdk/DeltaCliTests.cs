using System.Text.Json;
using VmdkMount.Tests.Infrastructure;
using VmdkMount.Tests.Vmdk.Writers;
using static VmdkMount.Tests.Vmdk.Writers.DeltaChainBuilder;
using static VmdkMount.Tests.Vmdk.Writers.DeltaTestKit;

namespace VmdkMount.Tests.Vmdk;

/// <summary>`vmdkmount` info / check / export on chains with COWD and SEsparse links, as a user runs them.</summary>
public class DeltaCliTests
{
    /// <summary>vmfs base &lt;- COWD (512 B grains) &lt;- SEsparse (4 KiB grains).</summary>
    private static (string Dir, string Base, string Cowd, string Se) Chain()
    {
        string dir = RepoPaths.NewScratch("cli-deltas");
        string baseVmdk = VmdkDescriptorText.WriteVmfsBase(dir, "vm", Pattern((int)Capacity, 21), 0x01020304);
        string c1 = AddCowd(dir, "vm-000001", baseVmdk, 1, seed: 8);
        string c2 = AddSeSparse(dir, "vm-000002", c1, seed: 9);
        return (dir, baseVmdk, c1, c2);
    }

    [Fact]
    public void Info_check_and_export_of_a_cowd_and_sesparse_chain()
    {
        var (dir, _, _, top) = Chain();
        try
        {
            var before = Hashing.Snapshot(dir);
            var info = OurCli.Run("info", top, "--json");
            Assert.True(info.ExitCode == 0, info.StdErr);
            var chain = JsonDocument.Parse(info.StdOut).RootElement.GetProperty("chain").EnumerateArray().ToList();
            Assert.Equal(3, chain.Count);
            Assert.Equal("seSparse", chain[0].GetProperty("createType").GetString());
            Assert.Equal(4096, chain[0].GetProperty("grainSize").GetInt64());
            Assert.Equal("vmfsSparse", chain[1].GetProperty("createType").GetString());
            Assert.Equal(512, chain[1].GetProperty("grainSize").GetInt64());
            Assert.Equal("vmfs", chain[2].GetProperty("createType").GetString());

            var check = OurCli.Run("check", top);
            Assert.True(check.ExitCode == 0, check.StdOut + check.StdErr);

            string outRaw = Path.Combine(dir, "export.raw");
            var export = OurCli.Run("export", top, outRaw);
            Assert.True(export.ExitCode == 0, export.StdErr);
            string qemu = QemuRaw(top, dir);
            Assert.Equal(Hashing.Sha256File(qemu), Hashing.Sha256File(outRaw));
            File.Delete(outRaw);
            File.Delete(qemu);
            Assert.Equal(before, Hashing.Snapshot(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Check_reports_a_cowd_grain_that_overlaps_a_grain_table()
    {
        var (dir, _, cowd, top) = Chain();
        try
        {
            string delta = Path.Combine(dir, "vm-000001-delta.vmdk");
            // the first GTE of the first grain table now points at that grain table itself
            uint gt0 = BitConverter.ToUInt32(File.ReadAllBytes(delta).AsSpan(4 * 512, 4));
            PatchU32(delta, gt0 * 512L, gt0);
            var before = Hashing.Snapshot(dir);
            var check = OurCli.Run("check", top, "--json");
            Assert.True(check.ExitCode == 1, check.StdOut + check.StdErr);
            var links = JsonDocument.Parse(check.StdOut).RootElement.GetProperty("links").EnumerateArray().ToList();
            var cowdLink = links.Single(l => l.GetProperty("file").GetString()!.EndsWith("vm-000001.vmdk", StringComparison.Ordinal));
            Assert.Contains(cowdLink.GetProperty("problems").EnumerateArray(),
                p => p.GetString()!.Contains("overlaps") && p.GetString()!.Contains(delta));
            Assert.Equal(before, Hashing.Snapshot(dir));
            Assert.NotEmpty(cowd);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_dirty_sesparse_link_is_refused_with_exit_2()
    {
        var (dir, _, _, top) = Chain();
        try
        {
            string delta = Path.Combine(dir, "vm-000002-sesparse.vmdk");
            PatchU64(delta, 512 + 24, 1); // volatile header (sector 1): replay_journal
            var before = Hashing.Snapshot(dir);
            var info = OurCli.Run("info", top);
            Assert.Equal(2, info.ExitCode);
            Assert.Contains("dirty, journal replay needed", info.StdErr);
            Assert.Contains("vm-000002-sesparse.vmdk", info.StdErr);
            Assert.Equal(before, Hashing.Snapshot(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
