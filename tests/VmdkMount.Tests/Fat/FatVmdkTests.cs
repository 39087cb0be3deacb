using VmdkMount.Core.Mounting;
using VmdkMount.Tests.Infrastructure;
using static VmdkMount.Tests.Fat.FatTestSupport;

namespace VmdkMount.Tests.Fat;

/// <summary>
/// A GPT disk (sgdisk) with an EFI system partition (mkfs.fat + mcopy) and an exFAT partition (mkfs.exfat +
/// exfat-fuse), wrapped by `qemu-img convert -O vmdk`: read through the whole stack (VMDK, GPT, reader) and
/// compared with mtools and exfat-fuse reading the partitions' own bytes.
/// </summary>
public class FatVmdkTests
{
    private static string Dir => TestImages.Get("fat-vmdk");

    [Theory]
    [InlineData("disk.vmdk")]
    [InlineData("disk-stream.vmdk")]
    public void EFI_system_partition_and_exFAT_volume_in_a_VMDK_read_like_mtools_and_exfat_fuse(string vmdk)
    {
        string mcopyDir = RepoPaths.NewScratch("fat-vmdk-esp");
        try
        {
            Tool.Run("mcopy", ["-s", "-m", "-n", "-i", Path.Combine(Dir, "esp.img"), "::/", mcopyDir + "/"], env: ToolEnv);
            var espExpected = DescribeHost(mcopyDir);
            Dictionary<string, string> dataExpected;
            using (var mount = new ExFatFuseMount(Path.Combine(Dir, "exdata.img")))
                dataExpected = DescribeHost(mount.Dir);

            using var disk = MountedDisk.Open(Path.Combine(Dir, vmdk));
            Assert.Equal("gpt", disk.Layout.Scheme);
            var esp = disk.GetVolume("p1");
            Assert.Equal(("fat32", "ESP", true), (esp.FileSystem, esp.Label, esp.Mountable));
            var data = disk.GetVolume("p2");
            Assert.Equal(("exfat", "DATA", true), (data.FileSystem, data.Label, data.Mountable));

            var espFs = disk.OpenFileSystem("p1");
            Assert.Equal(("fat32", "ESP"), (espFs.Kind, espFs.Label));
            Assert.True(espExpected.Count >= 10);
            AssertSameTree(espExpected, Describe(espFs));
            var dataFs = disk.OpenFileSystem("p2");
            Assert.Equal(("exfat", "DATA"), (dataFs.Kind, dataFs.Label));
            Assert.True(dataExpected.Count >= 5);
            AssertSameTree(dataExpected, Describe(dataFs));
        }
        finally
        {
            Directory.Delete(mcopyDir, recursive: true);
        }
    }

    [Fact]
    public void CLI_extract_of_the_EFI_system_partition_matches_mcopy_including_mtimes()
    {
        string mcopyDir = RepoPaths.NewScratch("fat-vmdk-mcopy");
        string dest = RepoPaths.NewScratch("fat-vmdk-extract");
        try
        {
            Tool.Run("mcopy", ["-s", "-m", "-n", "-i", Path.Combine(Dir, "esp.img"), "::/", mcopyDir + "/"], env: ToolEnv);
            var r = OurCli.Run("extract", Path.Combine(Dir, "disk.vmdk"), "p1:/", Path.Combine(dest, "out"));
            Assert.True(r.ExitCode == 0, r.StdErr + r.StdOut);
            TreeAssert.Equal(mcopyDir, Path.Combine(dest, "out"), compareTimes: true);
        }
        finally
        {
            Directory.Delete(mcopyDir, recursive: true);
            Directory.Delete(dest, recursive: true);
        }
    }
}
