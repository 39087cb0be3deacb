using System.Text.RegularExpressions;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Volumes;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Volumes;

/// <summary>
/// Tables made by sfdisk, sgdisk and parted (images/volumes-tables.sh), read by us and compared with sfdisk --json,
/// parted -m and mmls for offsets/sizes/types, and with blkid -p for the content of every volume.
/// </summary>
public sealed class PartitionTableTests : IDisposable
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

    /// <summary>Every volume's filesystem kind and label agree with blkid's low-level probe of the same bytes.</summary>
    internal static void AssertContentMatchesBlkid(string image, DiskLayout layout)
    {
        foreach (var v in layout.Volumes.Where(v => v.Scheme != "lvm"))
        {
            var blkid = VolumeOracles.Blkid(image, v.Offset, v.Size);
            Assert.True(VolumeOracles.KindOf(blkid) == v.FileSystem, $"{v.Id}: blkid says {VolumeOracles.KindOf(blkid)}, we say {v.FileSystem}");
            if (v.FileSystem != "lvm2-pv") Assert.True(VolumeOracles.LabelOf(blkid) == v.Label, $"{v.Id}: blkid label {VolumeOracles.LabelOf(blkid)}, ours {v.Label}");
        }
    }

    /// <summary>Partition numbers, offsets, sizes and types agree with sfdisk --json (extended containers are not volumes).</summary>
    private static void AssertTableMatchesSfdisk(string image, DiskLayout layout, string scheme)
    {
        var (ss, parts) = VolumeOracles.Sfdisk(image);
        Assert.Equal(scheme, layout.Scheme);
        Assert.Equal(ss, layout.SectorSize);
        var expected = parts.Where(p => !(scheme == "mbr" && p.Type is "5" or "f" or "85")).ToList();
        Assert.Equal(expected.Select(p => $"p{p.Number}"), layout.Volumes.Select(v => v.Id));
        foreach (var p in expected)
        {
            var v = layout.Volumes.Single(v => v.Id == $"p{p.Number}");
            Assert.Equal(p.Start * ss, v.Offset);
            Assert.Equal(p.Size * ss, v.Size);
            Assert.Equal(scheme, v.Scheme);
            if (scheme == "gpt")
            {
                Assert.Equal(p.Type.ToLowerInvariant(), v.PartitionType);
                if (p.Name is not null) Assert.Equal(p.Name, v.PartitionName);
            }
            else Assert.Equal(Convert.ToByte(p.Type, 16).ToString("x2"), v.PartitionType);
        }
    }

    [Fact]
    public void Sfdisk_mbr_with_extended_chain_numbers_logicals_5_up_and_identifies_every_filesystem()
    {
        string image = Path.Combine(VolumeOracles.Tables, "mbr.img");
        var layout = Scan(image);
        AssertTableMatchesSfdisk(image, layout, "mbr");
        AssertContentMatchesBlkid(image, layout);
        Assert.Empty(layout.Warnings);
        var byId = layout.Volumes.ToDictionary(v => v.Id);
        Assert.Equal(["ntfs", "ext4", "fat16", "fat12", "swap", "ntfs", "xfs", "ext2", "ext3", "exfat"], layout.Volumes.Select(v => v.FileSystem));
        Assert.All(new[] { "p1", "p2", "p3", "p5", "p7", "p8", "p9", "p10", "p11" }, id => Assert.True(byId[id].Mountable, id));
        Assert.Equal("Linux swap space (no files)", byId["p6"].Reason);
        Assert.Null(byId["p8"].Reason);
        Assert.Equal("xfsvol", byId["p8"].Label);
        Assert.Contains("recovery", byId["p7"].PartitionName);
        Assert.Contains("active", byId["p1"].PartitionName);
        Assert.Equal(["hidden", "recovery"], byId["p7"].Attributes);
        Assert.Equal(["active"], byId["p1"].Attributes);
        Assert.Empty(byId["p2"].Attributes);
    }

    [Fact]
    public void Sgdisk_gpt_reports_types_names_and_skip_reasons()
    {
        string image = Path.Combine(VolumeOracles.Tables, "gpt.img");
        var layout = Scan(image);
        AssertTableMatchesSfdisk(image, layout, "gpt");
        AssertContentMatchesBlkid(image, layout);
        Assert.Empty(layout.Warnings);
        var v = layout.Volumes.ToDictionary(x => x.Id);
        Assert.True(v["p1"].Mountable);
        Assert.Equal("fat32", v["p1"].FileSystem);
        Assert.Equal("Microsoft reserved partition (holds no filesystem)", v["p2"].Reason);
        Assert.True(v["p3"].Mountable);
        Assert.Equal("ntfs", v["p3"].FileSystem);
        Assert.StartsWith("no filesystem recognized: empty (all zero)", v["p4"].Reason);
        Assert.Equal("no reader for Btrfs yet", v["p5"].Reason);
        Assert.Equal("encrypted (LUKS)", v["p7"].Reason);
        Assert.Equal("LUKS2", v["p7"].FileSystemVersion);
        Assert.Equal("LUKS1", v["p8"].FileSystemVersion);
        Assert.Equal(LdmDetectorReason, v["p9"].Reason);
        Assert.Equal(LdmDetectorReason, v["p10"].Reason);
        Assert.Equal("no reader for ISO9660 yet", v["p11"].Reason);
        Assert.Equal(["p1", "p3"], layout.Volumes.Where(x => x.Mountable).Select(x => x.Id));
        // sfdisk --json: p1 "attrs": "RequiredPartition", p3 "attrs": "GUID:62,63"
        var attrs = System.Text.Json.JsonDocument.Parse(Tool.Run("sfdisk", "--json", image).StdOut).RootElement
            .GetProperty("partitiontable").GetProperty("partitions").EnumerateArray()
            .Select(p => p.TryGetProperty("attrs", out var a) ? a.GetString() : null).ToList();
        Assert.Equal(["RequiredPartition", null, "GUID:62,63"], attrs.Take(3));
        Assert.Equal(["required"], v["p1"].Attributes);
        Assert.Equal(["hidden", "no-drive-letter"], v["p3"].Attributes);
        Assert.Empty(v["p2"].Attributes);
        Assert.Equal(["recovery"], v["p4"].Attributes);
        Assert.All(layout.Volumes, x => Assert.NotNull(x.PartitionGuid));
    }

    private const string LdmDetectorReason = "Windows dynamic disk (LDM): dynamic volumes are not supported yet";

    [Fact]
    public void Hybrid_mbr_is_ignored_in_favour_of_the_gpt_and_said_so()
    {
        string image = Path.Combine(VolumeOracles.Tables, "hybrid.img");
        var layout = Scan(image);
        AssertTableMatchesSfdisk(image, layout, "gpt");
        Assert.Contains(layout.Warnings, w => w.StartsWith("hybrid MBR"));
        var gpt = Scan(Path.Combine(VolumeOracles.Tables, "gpt.img"));
        Assert.Equal(gpt.Volumes.Select(v => (v.Id, v.Offset, v.Size, v.FileSystem)), layout.Volumes.Select(v => (v.Id, v.Offset, v.Size, v.FileSystem)));
    }

    [Fact]
    public void Gpt_on_a_4Kn_disk_uses_4096_byte_sectors_like_mmls()
    {
        string image = Path.Combine(VolumeOracles.Tables, "gpt4k.img");
        var layout = Scan(image);
        Assert.Equal("gpt", layout.Scheme);
        Assert.Equal(4096, layout.SectorSize);
        var mmls = Tool.Run("mmls", "-b", "4096", image).StdOut;
        var rows = Regex.Matches(mmls, @"^\d+:\s+(\d{3})\s+(\d+)\s+(\d+)\s+(\d+)", RegexOptions.Multiline)
            .Select(m => (Id: $"p{int.Parse(m.Groups[1].Value) + 1}", Offset: long.Parse(m.Groups[2].Value) * 4096, Size: long.Parse(m.Groups[4].Value) * 4096))
            .ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal(rows, layout.Volumes.Select(v => (v.Id, v.Offset, v.Size)));
        AssertContentMatchesBlkid(image, layout);
        Assert.Equal("Win4K", layout.Volumes[0].Label);
        Assert.All(layout.Volumes, v => Assert.True(v.Mountable));
    }

    [Fact]
    public void Mbr_on_a_4Kn_disk_is_recognised_by_where_its_filesystems_start()
    {
        string image = Path.Combine(VolumeOracles.Tables, "mbr4k.img");
        var layout = Scan(image);
        Assert.Equal(("mbr", 4096), (layout.Scheme, layout.SectorSize));
        // mmls slots: "000:001" = primary table entry 1 (p2), "001:000" = first logical (p5)
        var mmls = Tool.Run("mmls", "-b", "4096", image).StdOut;
        var rows = Regex.Matches(mmls, @"^\d+:\s+(\d{3}):(\d{3})\s+(\d+)\s+(\d+)\s+(\d+)", RegexOptions.Multiline)
            .Select(m => (Table: int.Parse(m.Groups[1].Value), Entry: int.Parse(m.Groups[2].Value), Start: long.Parse(m.Groups[3].Value), Length: long.Parse(m.Groups[5].Value)))
            .Select(r => (Id: r.Table == 0 ? $"p{r.Entry + 1}" : $"p{4 + r.Table}", Offset: r.Start * 4096, Size: r.Length * 4096))
            .ToList();
        Assert.Equal(3, rows.Count);
        Assert.Equal(rows, layout.Volumes.Select(v => (v.Id, v.Offset, v.Size)));
        AssertContentMatchesBlkid(image, layout);
        Assert.Contains(layout.Warnings, w => w.Contains("4096-byte-sector (4Kn)"));
    }

    [Fact]
    public void Parted_msdos_table_matches_parted_machine_output()
    {
        string image = Path.Combine(VolumeOracles.Tables, "parted.img");
        var layout = Scan(image);
        var rows = Tool.Run("parted", "-s", "-m", image, "unit", "B", "print").StdOut.Split('\n')
            .Select(l => l.Split(':')).Where(f => f.Length >= 6 && int.TryParse(f[0], out _))
            .Where(f => !f[0].Equals("2")) // the extended container
            .Select(f => (Id: "p" + f[0], Offset: long.Parse(f[1].TrimEnd('B')), Size: long.Parse(f[3].TrimEnd('B'))))
            .ToList();
        Assert.Equal(rows, layout.Volumes.Select(v => (v.Id, v.Offset, v.Size)));
        AssertTableMatchesSfdisk(image, layout, "mbr");
        AssertContentMatchesBlkid(image, layout);
    }

    [Fact]
    public void Parted_gpt_names_are_reported()
    {
        string image = Path.Combine(VolumeOracles.Tables, "parted-gpt.img");
        var layout = Scan(image);
        AssertTableMatchesSfdisk(image, layout, "gpt");
        AssertContentMatchesBlkid(image, layout);
        Assert.Equal(["data", "home"], layout.Volumes.Select(v => v.PartitionName));
    }

    [Theory]
    [InlineData("disk-ntfs.img", "ntfs", true)]
    [InlineData("disk-fat.img", "fat16", true)]
    [InlineData("disk-ext4.img", "ext4", true)]
    [InlineData("disk-xfs.img", "xfs", true)]
    [InlineData("disk-luks.img", "luks", false)]
    public void A_filesystem_on_an_unpartitioned_disk_is_volume_disk(string file, string kind, bool mountable)
    {
        string image = Path.Combine(VolumeOracles.Tables, file);
        var layout = Scan(image);
        Assert.Equal("none", layout.Scheme);
        var v = Assert.Single(layout.Volumes);
        Assert.Equal("disk", v.Id);
        Assert.Equal(0, v.Offset);
        Assert.Equal(new FileInfo(image).Length, v.Size);
        Assert.Equal(kind, v.FileSystem);
        Assert.Equal(mountable, v.Mountable);
        AssertContentMatchesBlkid(image, layout);
    }

    [Fact]
    public void A_blank_disk_is_listed_as_unknown_with_a_reason()
    {
        var layout = Scan(Path.Combine(VolumeOracles.Tables, "blank.img"));
        var v = Assert.Single(layout.Volumes);
        Assert.Equal(("disk", "unknown", false), (v.Id, v.FileSystem, v.Mountable));
        Assert.Equal("no partition table and no filesystem recognized: empty (all zero)", v.Reason);
    }

    [Fact]
    public void Volume_data_is_the_partition_bytes()
    {
        string image = Path.Combine(VolumeOracles.Tables, "mbr.img");
        var layout = Scan(image);
        var p2 = layout.Volumes.Single(v => v.Id == "p2");
        var bytes = new byte[p2.Size];
        Assert.Equal(bytes.Length, p2.Data.ReadAt(0, bytes));
        Assert.Equal(Hashing.Sha256File(Path.Combine(VolumeOracles.Tables, "pieces", "ext4.img")), Hashing.Sha256(bytes));
    }
}
