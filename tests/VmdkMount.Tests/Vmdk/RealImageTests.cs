using System.Security.Cryptography;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Errors;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Vmdk;

/// <summary>VMware-, open-vmdk-, ovftool- and VirtualBox-made images from images-real, checked against the hashes in their READMEs.</summary>
public class RealImageTests
{
    private static string Real(params string[] parts) => Path.Combine([RepoPaths.RealImages, .. parts]);

    private const string TenMiBDisk = "a3bcf05f07a1c06a3380eeca8571f0efb2b85afafa1e21662b8cad436d1f7727";

    [Theory]
    [InlineData("monolithicSparse.vmdk", TenMiBDisk)]
    [InlineData("twoGbMaxExtentSparse.vmdk", TenMiBDisk)]
    [InlineData("streamOptimized.vmdk", TenMiBDisk)]
    [InlineData("streamOptimizedWithMarkers.vmdk", "92c0f8b4280377437056f57c51ef51a5f8aeb1462ac630ef0633febcbfc3db4e")]
    [InlineData("vmfs_thick.vmdk", "8d43c795d24bce01b49f92744f934c1072210dcac170bb1c83a5aa56df46ab7d")]
    public void Vmdk_rs_images_flatten_to_the_readme_hash(string file, string sha256)
    {
        var before = Hashing.Snapshot(Real("vmdk-rs"));
        using (var disk = DiskOpener.Open(Real("vmdk-rs", file)))
            Assert.Equal(sha256, VmdkOracle.Sha256(disk));
        Assert.Equal(before, Hashing.Snapshot(Real("vmdk-rs")));
    }

    [Theory]
    [InlineData("monolithicFlat.vmdk", "monolithicFlat-flat.vmdk")]
    [InlineData("twoGbMaxExtentFlat.vmdk", "twoGbMaxExtentFlat-f001.vmdk")]
    public void Vmdk_rs_flat_descriptors_read_the_regenerated_extent(string descriptor, string extent)
    {
        // The README's recipe: the flat extent is qemu's raw flattening of the sparse disk.
        string dir = RepoPaths.NewScratch("vmdk-realflat");
        try
        {
            File.Copy(Real("vmdk-rs", descriptor), Path.Combine(dir, descriptor));
            Tool.Run("qemu-img", "convert", "-O", "raw", Real("vmdk-rs", "monolithicSparse.vmdk"), Path.Combine(dir, extent));
            using var disk = DiskOpener.Open(Path.Combine(dir, descriptor));
            Assert.Equal(TenMiBDisk, VmdkOracle.Sha256(disk));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Esxi_snapshot_descriptor_names_its_missing_delta()
    {
        var e = Assert.Throws<SourceUnavailableException>(() => DiskOpener.Open(Real("vmdk-rs", "vmfs_thick-000001.vmdk")));
        Assert.Contains("vmfs_thick-000001-delta.vmdk", e.Message);
    }

    [Fact]
    public void Truncated_ovftool_stream_is_a_clear_invalid_footer_error()
    {
        string file = Real("govmomi-ttylinux", "ttylinux-pc_i486-16.1-disk1.vmdk");
        string before = Hashing.Sha256File(file);
        var e = Assert.Throws<CorruptDataException>(() => DiskOpener.Open(file));
        Assert.Contains("invalid footer", e.Message);
        Assert.Contains("ttylinux-pc_i486-16.1-disk1.vmdk", e.Message);
        Assert.Equal(1048576 - 1536, e.Offset);
        Assert.Equal(before, Hashing.Sha256File(file));
    }

    [Fact]
    public void Truncated_ovftool_stream_recovers_the_35_grains_the_readme_lists()
    {
        string file = Real("govmomi-ttylinux", "ttylinux-pc_i486-16.1-disk1.vmdk");
        using var disk = DiskOpener.Open(file, new DiskOpenOptions { RecoverTruncatedStreams = true });
        Assert.Contains(disk.Warnings, w => w.Contains("recovered 35 grain(s)") && w.Contains("offset 1029120"));
        long[] lbas = [0, 128, 256, 768, 2048, 3072, 3200, 3328, 7168, 7296, 7424, 7552, 7680, 7808, 7936, 8064, 8192, 8320, 8448,
            8576, 8704, 8832, 9216, 9344, 12288, 12416, 12544, 12672, 12800, 12928, 13056, 13184, 13312, 13440, 13568];
        var grains = disk.QueryAllocated(0, disk.Length).SelectMany(r => Enumerable.Range(0, (int)(r.Length / 65536)).Select(i => (r.Offset + i * 65536L) / 512));
        Assert.Equal(lbas, grains);
        var g = new byte[65536];
        disk.ReadAt(0, g);
        Assert.Equal("0e0dc06779d5da7139940be51b52528024c741a0b9670b5a62d58e7215456814", Hashing.Sha256(g));
        Assert.Equal("936bea4d6dbfb52312771810053378d82d1085707104dc5fca5c453f9e378bbf", Hashing.Sha256(g.AsSpan(0, 512)));
        disk.ReadAt(128 * 512, g);
        Assert.Equal("dfb3c01fdb2da67fe6e3664619d0212331457d90f238014574e1a6f0ac31ba97", Hashing.Sha256(g));
        disk.ReadAt(256 * 512, g);
        Assert.Equal("6f6cf23c5c9b58ecd1f468c498730c90df3b68df19a21f32e61d0224abbbdfe0", Hashing.Sha256(g));
        var rest = new byte[disk.Length - 13696 * 512];
        disk.ReadAt(13696 * 512, rest);
        Assert.False(rest.AsSpan().ContainsAnyExcept((byte)0));
    }

    [Fact]
    public void VirtualBox_stream_without_grains_is_8_GiB_of_zeros()
    {
        string file = Real("cot-virtualbox", "ubuntu.2.0-disk1.vmdk");
        using var disk = (VmdkDisk)DiskOpener.Open(file);
        Assert.Equal(8L << 30, disk.Length);
        Assert.Equal(0x255a27cdu, disk.Links[0].Cid);
        Assert.Empty(disk.QueryAllocated(0, disk.Length));
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        var buf = new byte[8 << 20];
        for (long pos = 0; pos < disk.Length; pos += buf.Length)
        {
            disk.ReadAt(pos, buf);
            sha1.AppendData(buf);
        }
        Assert.Equal("bcc8c0ca9e402eee924a6046966d18b1f66eb577", Convert.ToHexString(sha1.GetHashAndReset()).ToLowerInvariant());
    }
}
