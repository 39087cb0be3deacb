using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Vmdk;

/// <summary>Every subformat and chain qemu-img creates reads byte-identically to `qemu-img convert -O raw`, and maps like `qemu-img map`.</summary>
public class QemuSubformatTests
{
    private static string Images => TestImages.Get("vmdk-qemu");

    public static TheoryData<string> Disks => new()
    {
        "ms", "mf", "ts", "tf", "so", "zchild", "c4", "c2", "deep/deep199",
    };

    [Theory]
    [MemberData(nameof(Disks))]
    public void Reads_like_qemu_convert(string name)
    {
        string vmdk = Path.Combine(Images, name + ".vmdk");
        using var disk = (VmdkDisk)DiskOpener.Open(vmdk);
        var before = VmdkOracle.SourceFingerprint(disk);
        VmdkOracle.AssertSameAsRaw(disk, Path.Combine(Images, name + ".raw"), Path.Combine(Images, name + ".map.json"));
        Assert.Equal(before, VmdkOracle.SourceFingerprint(disk));
    }

    [Theory]
    [MemberData(nameof(Disks))]
    public void Allocated_ranges_match_qemu_map(string name)
    {
        string vmdk = Path.Combine(Images, name + ".vmdk");
        using var disk = DiskOpener.Open(vmdk);
        Assert.Equal(VmdkOracle.QemuDataRanges(Path.Combine(Images, name + ".map.json")), VmdkOracle.OurRanges(disk));
    }

    [Fact]
    public void Split_sparse_with_2047_MiB_pieces_reads_like_qemu()
    {
        string dir = TestImages.Get("vmdk-split2047");
        using var disk = (VmdkDisk)DiskOpener.Open(Path.Combine(dir, "split.vmdk"));
        Assert.Equal(3, disk.Links[0].Extents.Count);
        Assert.Equal(4192256L * 512, disk.Links[0].Extents[1].Start);
        VmdkOracle.AssertSameAsRaw(disk, Path.Combine(dir, "split.raw"), Path.Combine(dir, "split.map.json"));
        Assert.Equal(VmdkOracle.QemuDataRanges(Path.Combine(dir, "split.map.json")), VmdkOracle.OurRanges(disk));
    }

    [Fact]
    public void Mixed_chain_lists_every_link_with_its_kind_and_cids()
    {
        using var disk = (VmdkDisk)DiskOpener.Open(Path.Combine(Images, "c4.vmdk"));
        Assert.Equal(["c4.vmdk", "c3.vmdk", "c2.vmdk", "c1.vmdk", "base.vmdk"], disk.Links.Select(l => Path.GetFileName(l.Path)));
        Assert.Equal(["monolithicSparse", "streamOptimized", "twoGbMaxExtentSparse", "monolithicSparse", "monolithicSparse"],
            disk.Links.Select(l => l.CreateType));
        for (int i = 0; i + 1 < disk.Links.Count; i++) Assert.Equal(disk.Links[i + 1].Cid, disk.Links[i].ParentCid);
        Assert.Equal(DescriptorFile.NoParentCid, disk.Links[^1].ParentCid);
    }

    [Fact]
    public void Cid_mismatch_is_an_error_naming_both_files_unless_ignored()
    {
        string child = Path.Combine(Images, "cidchild.vmdk");
        var e = Assert.Throws<VmdkMount.Core.Errors.ChainException>(() => DiskOpener.Open(child));
        Assert.Contains("cidchild.vmdk", e.Message);
        Assert.Contains("cidbase.vmdk", e.Message);
        Assert.Contains("CID", e.Message);
        using var disk = DiskOpener.Open(child, new DiskOpenOptions { IgnoreCidMismatch = true });
        Assert.Contains(disk.Warnings, w => w.Contains("CID mismatch"));
        var buf = new byte[65536];
        disk.ReadAt(0, buf);
        Assert.All(buf, b => Assert.Equal(0x10, b));
    }
}
