using System.Text.Json;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.MultiDisk;

/// <summary>
/// `volumes`, `ls`, `cat` and `extract` over both disks of one RHEL-like VM (images/multidisk-lvm.sh): ids carry the
/// disk's position, the volume group is assembled across the disks by PV UUID, and every file of the LV that spans
/// them (and of the one striped over them) hashes as the kernel's ext4 saw it.
/// </summary>
public class MultiDiskCliTests
{
    private static string D1 => RhelTwoDisks.Disk1;
    private static string D2 => RhelTwoDisks.Disk2;

    private static JsonElement VolumesJson(params string[] disks)
    {
        var r = OurCli.Run(["volumes", .. disks, "--json"]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        return JsonDocument.Parse(r.StdOut).RootElement;
    }

    private static JsonElement Volume(JsonElement root, string id) =>
        root.GetProperty("volumes").EnumerateArray().Single(v => v.GetProperty("id").GetString() == id);

    [Fact]
    public void Volumes_of_both_disks_carry_the_disk_position_and_the_lvs_span_the_disks()
    {
        var root = VolumesJson(D1, D2);
        var ids = root.GetProperty("volumes").EnumerateArray().Select(v => v.GetProperty("id").GetString()).ToList();
        Assert.Equal(["d1p1", "d1p2", "d2disk", RhelTwoDisks.Lv("root"), RhelTwoDisks.Lv("swap"), RhelTwoDisks.Lv("home"), RhelTwoDisks.Lv("data")], ids);
        Assert.Equal(D1, root.GetProperty("disk").GetProperty("source").GetString());
        Assert.Equal([D1, D2], root.GetProperty("disks").EnumerateArray().Select(d => d.GetProperty("source").GetString()));
        Assert.Equal(["gpt", "none"], root.GetProperty("disks").EnumerateArray().Select(d => d.GetProperty("scheme").GetString()));
        Assert.Empty(root.GetProperty("warnings").EnumerateArray());

        Assert.Equal(("ext4", "boot", true), Shape(Volume(root, "d1p1")));
        foreach (var pv in new[] { "d1p2", "d2disk" })
        {
            Assert.Equal("lvm2-pv", Volume(root, pv).GetProperty("filesystem").GetString());
            Assert.Contains($"volume group '{RhelTwoDisks.Vg}'", Volume(root, pv).GetProperty("reason").GetString());
        }
        Assert.Equal(("ext4", "root", true), Shape(Volume(root, RhelTwoDisks.Lv("root"))));
        Assert.Equal(("swap", "swap", false), Shape(Volume(root, RhelTwoDisks.Lv("swap"))));
        var home = Volume(root, RhelTwoDisks.Lv("home"));
        Assert.Equal(("ext4", "home", true), Shape(home));
        Assert.Equal([1, 2], home.GetProperty("disks").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal("linear", home.GetProperty("partitionType").GetString());
        var data = Volume(root, RhelTwoDisks.Lv("data"));
        Assert.Equal(("ext4", "data", true), Shape(data));
        Assert.Equal("striped", data.GetProperty("partitionType").GetString());
        Assert.Equal([1], Volume(root, "d1p1").GetProperty("disks").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal([2], Volume(root, "d2disk").GetProperty("disks").EnumerateArray().Select(d => d.GetInt32()));

        // the table shows the same ids, one header line per disk
        var r = OurCli.Run("volumes", D1, D2);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith($"d1 {D1}: ", lines[0]);
        Assert.StartsWith($"d2 {D2}: ", lines[1]);
        Assert.Equal(ids, lines.Skip(3).Select(l => l.Split(' ')[0]));
    }

    private static (string?, string?, bool) Shape(JsonElement v) =>
        (v.GetProperty("filesystem").GetString(), v.GetProperty("label").GetString(), v.GetProperty("mountable").GetBoolean());

    [Fact]
    public void The_home_lv_really_spans_both_pvs_and_its_big_file_crosses_the_boundary()
    {
        // guards the image itself, so the read tests below cannot pass on a layout that does not span
        var segments = RhelTwoDisks.Segments("home");
        Assert.Equal(2, segments.Count);
        Assert.StartsWith("disk1:", Assert.Single(segments[0].Ranges));
        Assert.StartsWith("disk2:", Assert.Single(segments[1].Ranges));
        long boundary = segments[1].Start * RhelTwoDisks.ExtentBytes;
        var (first, last) = RhelTwoDisks.BigFileBytes();
        Assert.True(first < boundary && last >= boundary, $"big.bin lies at {first}..{last}, the PV boundary is at {boundary}");
        var data = Assert.Single(RhelTwoDisks.Segments("data"));
        Assert.Equal(2, data.Stripes);
        Assert.Equal(["disk1", "disk2"], data.Ranges.Select(r => r.Split(':')[0]));
    }

    [Fact]
    public void Cat_of_the_file_across_the_pv_boundary_hashes_like_the_kernel()
    {
        var r = OurCli.Run("cat", D1, RhelTwoDisks.Lv("home") + ":/alice/big.bin", "--disk", D2);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(RhelTwoDisks.Sums("home")["/alice/big.bin"], Hashing.Sha256(r.StdOutBytes));
    }

    [Theory]
    [InlineData("home", "home")]
    [InlineData("data", "data")]
    [InlineData("root", "root")]
    [InlineData(null, "boot")]
    public void Extract_and_ls_of_every_volume_hash_like_the_kernel(string? lv, string fs)
    {
        string volume = lv is null ? "d1p1" : RhelTwoDisks.Lv(lv);
        var expected = RhelTwoDisks.Sums(fs);
        var before = Hashing.Snapshot(RhelTwoDisks.Dir);
        string scratch = RepoPaths.NewScratch("multidisk-extract");
        try
        {
            string dest = Path.Combine(scratch, "out");
            var r = OurCli.Run("extract", D1, volume + ":/", dest, "--disk", D2, "--quiet");
            Assert.True(r.ExitCode == 0, r.StdErr);
            var got = Directory.EnumerateFiles(dest, "*", SearchOption.AllDirectories)
                .Where(f => !new FileInfo(f).Attributes.HasFlag(FileAttributes.ReparsePoint))
                .ToDictionary(f => "/" + Path.GetRelativePath(dest, f), Hashing.Sha256File);
            Assert.Equal(expected.OrderBy(kv => kv.Key), got.OrderBy(kv => kv.Key));

            var ls = OurCli.Run("ls", D1, volume + ":/", "-R", "--json", "--disk", D2);
            Assert.True(ls.ExitCode == 0, ls.StdErr);
            var files = JsonDocument.Parse(ls.StdOut).RootElement.GetProperty("entries").EnumerateArray()
                .Where(e => e.GetProperty("type").GetString() == "file").Select(e => e.GetProperty("path").GetString()!)
                .Where(p => !p.StartsWith("/lost+found", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), files);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
        Assert.Equal(before, Hashing.Snapshot(RhelTwoDisks.Dir));
    }

    [Fact]
    public void Disk_1_alone_lists_home_and_data_with_the_missing_pv_uuid_and_still_reads_root()
    {
        string missing = RhelTwoDisks.PvUuid(2);
        var r = OurCli.Run("volumes", D1, "--json");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var root = JsonDocument.Parse(r.StdOut).RootElement;
        // one disk: ids exactly as before several disks existed
        Assert.Equal(["p1", "p2", RhelTwoDisks.Lv("root"), RhelTwoDisks.Lv("swap"), RhelTwoDisks.Lv("home"), RhelTwoDisks.Lv("data")],
            root.GetProperty("volumes").EnumerateArray().Select(v => v.GetProperty("id").GetString()));
        foreach (var lv in new[] { "home", "data" })
        {
            var v = Volume(root, RhelTwoDisks.Lv(lv));
            Assert.False(v.GetProperty("mountable").GetBoolean());
            Assert.Equal($"volume group '{RhelTwoDisks.Vg}' is incomplete: the LV lies partly on PV pv1 ({missing}), which is on none of the disks given",
                v.GetProperty("reason").GetString());
        }
        Assert.True(Volume(root, RhelTwoDisks.Lv("root")).GetProperty("mountable").GetBoolean());
        Assert.Contains(root.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains(missing));
        Assert.Contains(missing, r.StdErr);

        var ls = OurCli.Run("ls", D1, RhelTwoDisks.Lv("home") + ":/");
        Assert.Equal(2, ls.ExitCode);
        Assert.Contains(missing, ls.StdErr);
        var cat = OurCli.Run("cat", D1, RhelTwoDisks.Lv("root") + ":/etc/hostname");
        Assert.True(cat.ExitCode == 0, cat.StdErr);
        Assert.Equal(RhelTwoDisks.Sums("root")["/etc/hostname"], Hashing.Sha256(cat.StdOutBytes));
    }

    [Fact]
    public void Disks_in_reverse_order_assemble_the_same_volume_group()
    {
        var root = VolumesJson(D2, "--disk", D1);
        Assert.Equal(["d1disk", "d2p1", "d2p2", RhelTwoDisks.Lv("root"), RhelTwoDisks.Lv("swap"), RhelTwoDisks.Lv("home"), RhelTwoDisks.Lv("data")],
            root.GetProperty("volumes").EnumerateArray().Select(v => v.GetProperty("id").GetString()));
        var home = Volume(root, RhelTwoDisks.Lv("home"));
        Assert.True(home.GetProperty("mountable").GetBoolean());
        Assert.Equal([2, 1], home.GetProperty("disks").EnumerateArray().Select(d => d.GetInt32()));

        var r = OurCli.Run("cat", D2, RhelTwoDisks.Lv("home") + ":/alice/big.bin", "--disk", D1);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(RhelTwoDisks.Sums("home")["/alice/big.bin"], Hashing.Sha256(r.StdOutBytes));
        r = OurCli.Run("cat", D2, RhelTwoDisks.Lv("data") + ":/striped.bin", "--disk", D1);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(RhelTwoDisks.Sums("data")["/striped.bin"], Hashing.Sha256(r.StdOutBytes));
        r = OurCli.Run("cat", D2, "d2p1:/grub2/grub.cfg", "--disk", D1);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(RhelTwoDisks.Sums("boot")["/grub2/grub.cfg"], Hashing.Sha256(r.StdOutBytes));
    }

    [Fact]
    public void Extract_refuses_a_dest_that_is_a_file_of_the_second_disk_and_the_same_disk_twice_is_a_usage_error()
    {
        string scratch = RepoPaths.NewScratch("multidisk-guard");
        try
        {
            string d1 = Path.Combine(scratch, "disk1.vmdk"), d2 = Path.Combine(scratch, "disk2.vmdk");
            File.Copy(D1, d1);
            File.Copy(D2, d2);
            string hash = Hashing.Sha256File(d2);
            var r = OurCli.Run("extract", d1, RhelTwoDisks.Lv("home") + ":/alice/notes.txt", d2, "--disk", d2, "--quiet");
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("is a file of the opened disk chain", r.StdErr);
            Assert.Equal(hash, Hashing.Sha256File(d2));

            r = OurCli.Run("volumes", d1, d1);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("the same DISK is given twice", r.StdErr);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}
