using System.Text.RegularExpressions;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Volumes;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Volumes;

/// <summary>
/// LVM2 made by pvcreate/vgcreate/vgcfgrestore (images/volumes-lvm.sh). The oracle for where an LV lives is
/// `lvs --segments` (saved by the script); the oracle for its bytes is the mke2fs-made image written into those
/// extents (for the striped LV, written chunk by chunk by the script's own dd loop following dm-stripe's layout).
/// </summary>
public sealed class LvmTests : IDisposable
{
    private readonly List<RawDisk> _open = [];

    public void Dispose() { foreach (var d in _open) d.Dispose(); }

    /// <summary>Scans an image; the disk stays open until the test ends, so volume data can be read.</summary>
    private DiskLayout Scan(string image)
    {
        var disk = new RawDisk(image);
        _open.Add(disk);
        return VolumeScanner.Scan(disk, FormatRegistry.Default);
    }

    private static string ReadAllSha(Volume v)
    {
        var bytes = new byte[v.Size];
        int got = 0;
        // odd-sized reads cross chunk and segment boundaries on purpose
        while (got < bytes.Length)
        {
            int n = v.Data.ReadAt(got, bytes.AsSpan(got, Math.Min(bytes.Length - got, 100_003)));
            Assert.True(n > 0);
            got += n;
        }
        return Hashing.Sha256(bytes);
    }

    [Fact]
    public void Linear_lv_with_two_segments_on_an_mbr_partition_maps_to_the_pv_extents()
    {
        string dir = VolumeOracles.Lvm;
        string image = Path.Combine(dir, "lvm-mbr.img");
        var layout = Scan(image);
        Assert.Equal(["p1", "p2", "lvm-vgvola-root", "lvm-vgvola-swap"], layout.Volumes.Select(v => v.Id));
        var pv = layout.Volumes.Single(v => v.Id == "p2");
        Assert.Equal("lvm2-pv", pv.FileSystem);
        Assert.False(pv.Mountable);
        Assert.Contains("volume group 'vgvola'", pv.Reason);

        // lvs: "root 0 10 /dev/loop0:0-9", "root 10 3 /dev/loop0:20-22", "swap 0 2 /dev/loop0:12-13"; pe_start from pvs
        var lvs = File.ReadAllText(Path.Combine(dir, "lvs-mbr.txt"));
        long peStart = long.Parse(Regex.Match(File.ReadAllText(Path.Combine(dir, "pvs-mbr.txt")), @"(\d+)B").Groups[1].Value);
        long firstSwapPe = long.Parse(Regex.Match(lvs, @"swap\s+0\s+2\s+\S+:(\d+)-").Groups[1].Value);
        long firstRootPe = long.Parse(Regex.Match(lvs, @"root\s+0\s+10\s+\S+:(\d+)-").Groups[1].Value);
        var root = layout.Volumes.Single(v => v.Id == "lvm-vgvola-root");
        var swap = layout.Volumes.Single(v => v.Id == "lvm-vgvola-swap");
        const long E = 4 << 20;
        Assert.Equal(pv.Offset + peStart + firstRootPe * E, root.Offset);
        Assert.Equal(pv.Offset + peStart + firstSwapPe * E, swap.Offset);
        Assert.Equal(13 * E, root.Size);
        Assert.Equal(("ext4", "lvroot", true, "lvm", "linear", "vgvola/root"), (root.FileSystem, root.Label, root.Mountable, root.Scheme, root.PartitionType, root.PartitionName));
        Assert.Equal(("swap", "lvswap", false), (swap.FileSystem, swap.Label, swap.Mountable));
        Assert.Equal(Hashing.Sha256File(Path.Combine(dir, "lvm-mbr-root.img")), ReadAllSha(root));
        PartitionTableTests.AssertContentMatchesBlkid(image, layout);
    }

    [Fact]
    public void Striped_lv_across_two_pvs_of_one_disk_reads_back_the_filesystem_written_into_its_stripes()
    {
        string dir = VolumeOracles.Lvm;
        var layout = Scan(Path.Combine(dir, "lvm-striped.img"));
        Assert.Equal(["p1", "p2", "lvm-vgvolb-data", "lvm-vgvolb-lin"], layout.Volumes.Select(v => v.Id));
        Assert.Matches(@"data\s+0\s+4\s+2\s+64\.00k", File.ReadAllText(Path.Combine(dir, "lvs-striped.txt")));
        var data = layout.Volumes.Single(v => v.Id == "lvm-vgvolb-data");
        Assert.Equal(("ext4", "striped", true, "striped"), (data.FileSystem, data.Label, data.Mountable, data.PartitionType));
        Assert.Equal(16L << 20, data.Size);
        Assert.Equal(Hashing.Sha256File(Path.Combine(dir, "lvm-striped-data.img")), ReadAllSha(data));
        var lin = layout.Volumes.Single(v => v.Id == "lvm-vgvolb-lin");
        Assert.Equal(("fat12", "LINFAT", true), (lin.FileSystem, lin.Label, lin.Mountable));
        Assert.Empty(layout.Warnings);
    }

    [Fact]
    public void Striped_lv_reads_are_correct_from_many_threads_at_once()
    {
        string dir = VolumeOracles.Lvm;
        var data = Scan(Path.Combine(dir, "lvm-striped.img")).Volumes.Single(v => v.Id == "lvm-vgvolb-data").Data;
        var expected = File.ReadAllBytes(Path.Combine(dir, "lvm-striped-data.img"));
        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var rng = new Random(i);
            long offset = rng.NextInt64(0, expected.Length);
            var buf = new byte[rng.Next(1, 300_000)];
            int n = data.ReadAt(offset, buf);
            Assert.Equal((int)Math.Min(buf.Length, expected.Length - offset), n);
            Assert.True(buf.AsSpan(0, n).SequenceEqual(expected.AsSpan((int)offset, n)), $"read {i} at {offset}");
        });
    }

    [Fact]
    public void Pv_on_the_whole_disk_lists_its_lv()
    {
        var layout = Scan(Path.Combine(VolumeOracles.Lvm, "lvm-disk.img"));
        Assert.Equal("none", layout.Scheme);
        Assert.Equal(["disk", "lvm-vgvolc-whole"], layout.Volumes.Select(v => v.Id));
        var lv = layout.Volumes[1];
        Assert.Equal(("ext2", "wholelv", true, (1L << 20) + (4L << 20)), (lv.FileSystem, lv.Label, lv.Mountable, lv.Offset));
    }

    [Fact]
    public void Metadata_parser_reads_the_digest_example_and_maps_bytes_as_the_digest_says()
    {
        const string text = """
            vgtest {
            id = "x0PANJ-P3K4-DSq7-NiN5-ODCt-uBTV-u3XZRy"
            seqno = 4 # comment
            extent_size = 8192
            physical_volumes {
            pv0 {
            id = "Cq44kS-qqfZ-tnP9-FkGd-aybt-x5pl-zgfHeO"
            device = "/dev/loop1"
            pe_start = 2048
            pe_count = 49
            }
            }
            logical_volumes {
            lvroot {
            status = ["READ", "WRITE", "VISIBLE"]
            segment_count = 2
            segment1 {
            start_extent = 0
            extent_count = 10
            type = "striped"
            stripe_count = 1
            stripes = [
            "pv0", 0
            ]
            }
            segment2 {
            start_extent = 10
            extent_count = 3
            type = "striped"
            stripe_count = 1
            stripes = [
            "pv0", 20
            ]
            }
            }
            }
            }
            """;
        var vg = Lvm2VolumeGroup.FromMetadata(Lvm2MetadataParser.Parse(text, "t"), "t");
        Assert.Equal(("vgtest", 4L, 4L << 20), (vg.Name, vg.Seqno, vg.ExtentSizeBytes));
        var pvBytes = new byte[(1 << 20) + 49 * (4 << 20)];
        // digest 7.4: lvroot byte 40 MiB + 5 -> PV byte 1 MiB + 80 MiB + 5
        pvBytes[(1 << 20) + (80 << 20) + 5] = 0xAB;
        var view = new Lvm2LogicalVolumeView(vg, vg.LogicalVolumes[0], new Dictionary<string, VmdkMount.Core.Transports.IReadAt> { ["pv0"] = new MemorySource(pvBytes) }, "t");
        var one = new byte[1];
        view.ReadAt((40 << 20) + 5, one);
        Assert.Equal(0xAB, one[0]);
        Assert.Equal(13L * (4 << 20), view.Length);
    }
}
