using VmdkMount.Tests.Fuse;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.MultiDisk;

/// <summary>
/// `vmdkmount mount DISK DISK MOUNTPOINT` over both disks of the RHEL-like VM: the root holds every mountable volume
/// of both disks, and what the kernel reads through FUSE hashes like the kernel's own ext4 view of the same files.
/// </summary>
public class MultiDiskMountTests
{
    private static Dictionary<string, string> HashTree(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => !new FileInfo(f).Attributes.HasFlag(FileAttributes.ReparsePoint))
            .Where(f => !Path.GetRelativePath(dir, f).StartsWith("lost+found", StringComparison.Ordinal))
            .ToDictionary(f => "/" + Path.GetRelativePath(dir, f), Hashing.Sha256File);

    [Fact]
    public void Mount_of_both_disks_shows_every_mountable_volume_and_reads_like_the_kernel()
    {
        string scratch = RepoPaths.NewScratch("multidisk-mount");
        try
        {
            string mnt = Path.Combine(scratch, "mnt");
            using (new CliMount([RhelTwoDisks.Disk1, RhelTwoDisks.Disk2], mnt, Path.Combine(scratch, "state")))
            {
                Assert.Equal(new[] { "d1p1", RhelTwoDisks.Lv("data"), RhelTwoDisks.Lv("home"), RhelTwoDisks.Lv("root") }.Order(StringComparer.Ordinal),
                    Directory.EnumerateFileSystemEntries(mnt).Select(Path.GetFileName).Order(StringComparer.Ordinal));
                foreach (var (volume, fs) in new[] { ("d1p1", "boot"), (RhelTwoDisks.Lv("root"), "root"), (RhelTwoDisks.Lv("home"), "home"), (RhelTwoDisks.Lv("data"), "data") })
                    Assert.Equal(RhelTwoDisks.Sums(fs).OrderBy(kv => kv.Key), HashTree(Path.Combine(mnt, volume)).OrderBy(kv => kv.Key));
                Assert.Equal("../usr/bin/bash", new FileInfo(Path.Combine(mnt, RhelTwoDisks.Lv("root"), "etc/shell")).LinkTarget);

                // the mount's state record names both disks, in the order given, so unmount/cleanup can say what was mounted
                string record = Assert.Single(Directory.GetFiles(Path.Combine(scratch, "state"), "*.json"));
                using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(record));
                Assert.Equal(new[] { Path.GetFullPath(RhelTwoDisks.Disk1), Path.GetFullPath(RhelTwoDisks.Disk2) },
                    doc.RootElement.GetProperty("Disks").EnumerateArray().Select(e => e.GetString()));
                Assert.Equal(Path.GetFullPath(RhelTwoDisks.Disk1), doc.RootElement.GetProperty("Disk").GetString());
            }

            // --disk after the first, and --volume with a disk-prefixed id: disk 2 is given first, so /boot (on disk 1) is d2p1
            using (new CliMount(RhelTwoDisks.Disk2, mnt, Path.Combine(scratch, "state"), "--disk", RhelTwoDisks.Disk1, "--volume", "d2p1"))
                Assert.Equal(RhelTwoDisks.Sums("boot").OrderBy(kv => kv.Key), HashTree(mnt).OrderBy(kv => kv.Key));

            var r = OurCli.Run("mount", RhelTwoDisks.Disk1, RhelTwoDisks.Disk2, mnt, "--raw", "--state-dir", Path.Combine(scratch, "state"));
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("--raw shows one disk", r.StdErr);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}
