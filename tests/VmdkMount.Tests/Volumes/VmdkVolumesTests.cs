using System.Text.Json;
using System.Text.Json.Nodes;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Volumes;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Volumes;

/// <summary>
/// `volumes` through the VMDK engine: the raw test disks wrapped by `qemu-img convert -O vmdk` (monolithicSparse and
/// streamOptimized) list exactly what the raw images list (whose tables and contents the other tests check against
/// sfdisk, mmls, parted and blkid), and VMware-made VMDKs are read directly.
/// </summary>
public class VmdkVolumesTests
{
    private static JsonNode VolumesJson(params string[] args)
    {
        var r = OurCli.Run(["volumes", .. args, "--json"]);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.StdErr}");
        var node = JsonNode.Parse(r.StdOut)!;
        node["disk"]!.AsObject().Remove("source");
        foreach (var disk in node["disks"]!.AsArray()) disk!.AsObject().Remove("source");
        return node;
    }

    [Theory]
    [InlineData("volumes-tables", "mbr.img", "monolithicSparse")]
    [InlineData("volumes-tables", "gpt.img", "monolithicSparse")]
    [InlineData("volumes-tables", "gpt4k.img", "monolithicSparse")]
    [InlineData("volumes-tables", "mbr4k.img", "streamOptimized")]
    [InlineData("volumes-tables", "parted.img", "streamOptimized")]
    [InlineData("volumes-lvm", "lvm-mbr.img", "monolithicSparse")]
    [InlineData("volumes-lvm", "lvm-striped.img", "streamOptimized")]
    public void Vmdk_wrapped_disk_lists_the_same_volumes_as_the_raw_image(string set, string file, string subformat)
    {
        string raw = Path.Combine(TestImages.Get(set), file);
        string dir = RepoPaths.NewScratch("vol-vmdk");
        try
        {
            string vmdk = Path.Combine(dir, Path.ChangeExtension(file, ".vmdk"));
            Tool.Run("qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o", $"subformat={subformat}", raw, vmdk);
            var viaVmdk = VolumesJson(vmdk);
            var viaRaw = VolumesJson(raw, "--raw-input");
            Assert.Equal(viaRaw.ToJsonString(), viaVmdk.ToJsonString());
            Assert.NotEmpty(viaVmdk["volumes"]!.AsArray());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("vmdk-rs/monolithicSparse.vmdk", 128 * 512L, "ntfs", "test_disk")]
    [InlineData("vmdk-rs/streamOptimized.vmdk", 128 * 512L, "ntfs", "test_disk")]
    [InlineData("vmdk-rs/vmfs_thick.vmdk", 2048 * 512L, "ext4", null)]
    public void Vmware_made_vmdk_is_scanned_through_the_engine(string path, long offset, string kind, string? label)
    {
        using var disk = DiskOpener.Open(Path.Combine(RepoPaths.RealImages, path));
        var layout = VolumeScanner.Scan(disk, FormatRegistry.Default);
        var p1 = Assert.Single(layout.Volumes);
        Assert.Equal(("p1", offset, kind, label, true), (p1.Id, p1.Offset, p1.FileSystem, p1.Label, p1.Mountable));
    }
}

/// <summary>An LVM logical volume inside a VMDK, browsed and read with the CLI like any partition.</summary>
public class LvmEndToEndTests
{
    [Fact]
    public void Files_of_an_ext4_root_lv_inside_a_vmdk_read_back_like_the_tree_mke2fs_was_given()
    {
        string set = VolumeOracles.Lvm;
        string tree = Path.Combine(set, "root-tree");
        string dir = RepoPaths.NewScratch("vol-lv-e2e");
        try
        {
            string vmdk = Path.Combine(dir, "lvm.vmdk");
            Tool.Run("qemu-img", "convert", "-f", "raw", "-O", "vmdk", Path.Combine(set, "lvm-mbr.img"), vmdk);
            var r = OurCli.Run("ls", vmdk, "lvm-vgvola-root:/", "-R", "--json");
            Assert.True(r.ExitCode == 0, r.StdErr);
            var files = JsonDocument.Parse(r.StdOut).RootElement.GetProperty("entries").EnumerateArray()
                .Where(e => e.GetProperty("type").GetString() == "file")
                .Select(e => e.GetProperty("path").GetString()!).Order().ToList();
            var expected = Directory.EnumerateFiles(tree, "*", SearchOption.AllDirectories)
                .Select(f => "/" + Path.GetRelativePath(tree, f)).Order().ToList();
            Assert.Equal(expected, files);
            foreach (var f in expected)
            {
                var cat = OurCli.Run("cat", vmdk, "lvm-vgvola-root:" + f);
                Assert.Equal(0, cat.ExitCode);
                Assert.Equal(Hashing.Sha256File(Path.Combine(tree, f.TrimStart('/'))), Hashing.Sha256(cat.StdOutBytes));
            }
        }
        finally { Directory.Delete(dir, true); }
    }
}
