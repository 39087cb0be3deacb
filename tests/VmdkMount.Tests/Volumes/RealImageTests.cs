using System.Text.RegularExpressions;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Volumes;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Volumes;

/// <summary>
/// Disks written by VMware products (shared/images-real), flattened by qemu-img, scanned by us and compared with
/// mmls (partition offsets) and blkid (content), and with the labels their READMEs give.
/// </summary>
public class RealImageTests
{
    [Theory]
    [InlineData("vmdk-rs/monolithicSparse.vmdk", "ntfs", "test_disk")]
    [InlineData("vmdk-rs/vmfs_thick.vmdk", "ext4", null)]
    public void Vmware_made_disk_volumes_match_mmls_and_blkid(string vmdk, string kind, string? label)
    {
        string dir = RepoPaths.NewScratch("vol-real");
        try
        {
            string raw = Path.Combine(dir, "disk.raw");
            Tool.Run("qemu-img", "convert", "-O", "raw", Path.Combine(RepoPaths.RealImages, vmdk), raw);
            using var disk = new RawDisk(raw);
            var layout = VolumeScanner.Scan(disk, FormatRegistry.Default);
            var rows = Regex.Matches(Tool.Run("mmls", raw).StdOut, @"^\d+:\s+000:(\d{3})\s+(\d+)\s+(\d+)\s+(\d+)", RegexOptions.Multiline)
                .Select(m => ($"p{int.Parse(m.Groups[1].Value) + 1}", long.Parse(m.Groups[2].Value) * 512, long.Parse(m.Groups[4].Value) * 512))
                .ToList();
            Assert.Equal("mbr", layout.Scheme);
            Assert.Equal(rows, layout.Volumes.Select(v => (v.Id, v.Offset, v.Size)));
            PartitionTableTests.AssertContentMatchesBlkid(raw, layout);
            var p1 = layout.Volumes[0];
            Assert.Equal((kind, label, true), (p1.FileSystem, p1.Label, p1.Mountable));
        }
        finally { Directory.Delete(dir, true); }
    }
}
