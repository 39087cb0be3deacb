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
