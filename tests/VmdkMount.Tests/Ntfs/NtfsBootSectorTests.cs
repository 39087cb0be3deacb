using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems.Ntfs;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Ntfs;

/// <summary>Boot sector encodings (digest §1), on the sector mkntfs wrote for basic.img with single fields changed.</summary>
public class NtfsBootSectorTests
{
    private static byte[] RealSector()
    {
        var b = new byte[512];
        using var f = File.OpenRead(Path.Combine(TestImages.Get("ntfs-basic"), "basic.img"));
        f.ReadExactly(b);
        return b;
    }

    [Theory]
    [InlineData(0x01, 512)]
    [InlineData(0x08, 4096)]
    [InlineData(0x80, 65536)]
    [InlineData(0xF8, 131072)]
    [InlineData(0xF7, 262144)]
    [InlineData(0xF4, 2097152)]
    public void Sectors_per_cluster_including_negative_exponents(byte encoded, int clusterSize)
    {
        var b = RealSector();
        b[0x0D] = encoded;
        Assert.Equal(clusterSize, NtfsBootSector.Parse(b, "t").ClusterSize);
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x03)]
    [InlineData(0xF3)] // 4 MiB: larger than NTFS allows
    [InlineData(0x81)]
    public void Invalid_cluster_encodings_are_corrupt(byte encoded)
    {
        var b = RealSector();
        b[0x0D] = encoded;
        Assert.Throws<CorruptDataException>(() => NtfsBootSector.Parse(b, "t"));
    }

    [Theory]
    [InlineData(0xF6, 0x08, 1024)]
    [InlineData(0xF4, 0x08, 4096)]
    [InlineData(0x01, 0x08, 4096)]
    [InlineData(0x02, 0x01, 1024)]
    public void Mft_record_size_is_clusters_or_a_power_of_two(byte encoded, byte sectorsPerCluster, int size)
    {
        var b = RealSector();
        b[0x0D] = sectorsPerCluster;
        b[0x40] = encoded;
        Assert.Equal(size, NtfsBootSector.Parse(b, "t").MftRecordSize);
    }

    [Fact]
    public void Other_fields_and_the_oem_id()
    {
        var b = RealSector();
        var boot = NtfsBootSector.Parse(b, "t");
        Assert.Equal(512, boot.BytesPerSector);
        Assert.Equal(64L << 20, boot.VolumeSize + 512); // mkntfs leaves the last sector for the backup boot sector
        b[3] = (byte)'X';
        var e = Assert.Throws<CorruptDataException>(() => NtfsBootSector.Parse(b, "vol"));
        Assert.Contains("vol", e.Message);
    }

    [Fact]
    public void A_damaged_mft_record_0_falls_back_to_the_mftmirr_copy()
    {
        string copy = Path.Combine(RepoPaths.NewScratch("ntfs-mirr"), "basic.img");
        try
        {
            File.Copy(Path.Combine(TestImages.Get("ntfs-basic"), "basic.img"), copy);
            var sector = RealSector();
            long mftLcn = BitConverter.ToInt64(sector, 0x30);
            using (var f = new FileStream(copy, FileMode.Open, FileAccess.Write))
            {
                f.Position = mftLcn * 4096;
                f.Write("BAAD"u8); // chkdsk's mark for a record it gave up on
            }
            using var vol = new NtfsVolume(copy);
            Assert.Contains(vol.Fs.Warnings, w => w.Contains("$MFTMirr", StringComparison.Ordinal));
            Assert.Equal("hello resident\n", System.Text.Encoding.ASCII.GetString(vol.ReadAll(vol.Resolve("/small.txt").Id)));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(copy)!, recursive: true);
        }
    }

    [Fact]
    public void A_damaged_boot_sector_falls_back_to_the_backup_copy()
    {
        string copy = Path.Combine(RepoPaths.NewScratch("ntfs-boot"), "basic.img");
        try
        {
            File.Copy(Path.Combine(TestImages.Get("ntfs-basic"), "basic.img"), copy);
            using (var f = new FileStream(copy, FileMode.Open, FileAccess.Write)) f.Write(new byte[512]);
            using var vol = new NtfsVolume(copy);
            Assert.Contains(vol.Fs.Warnings, w => w.Contains("backup boot sector", StringComparison.Ordinal));
            Assert.Equal("BasicVol", vol.Fs.Label);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(copy)!, recursive: true);
        }
    }
}
