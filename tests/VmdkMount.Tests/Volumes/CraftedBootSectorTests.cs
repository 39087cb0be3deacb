using System.Text;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Volumes;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Volumes;

/// <summary>
/// ReFS, BitLocker, LDM and md RAID cannot be made on Linux, so their boot sectors / signatures are written here
/// by hand from the facts in partitions.md section 6 (ReFS: "ReFS\0\0\0\0" at +3, "FSRS" at +16, version bytes
/// at +40/+41; BitLocker: "-FVE-FS-" at +3 and its GUID at +160, or MSWIN4.1 + GUID at +424 for To Go; LDM:
/// "PRIVHEAD" at LBA 6; md: magic 0xA92B4EFC at +4096). The partition table around them is made by sfdisk.
/// </summary>
public class CraftedBootSectorTests
{
    private static readonly byte[] BitLockerGuid = new Guid("4967D63B-2E29-4AD8-8399-F6A339E3D001").ToByteArray();

    /// <summary>A 24 MiB disk with four 4 MiB partitions, made by sfdisk, loaded into memory.</summary>
    private static byte[] FourPartitionDisk(string types = "7,7,b,83")
    {
        string dir = RepoPaths.NewScratch("vol-crafted");
        try
        {
            string img = Path.Combine(dir, "d.img");
            var t = types.Split(',');
            Tool.Bash($"""
                truncate -s 24M {img}
                sfdisk -q {img} <<'EOF'
                label: dos
                start=2048, size=8192, type={t[0]}
                start=10240, size=8192, type={t[1]}
                start=18432, size=8192, type={t[2]}
                start=26624, size=8192, type={t[3]}
                EOF
                """);
            return File.ReadAllBytes(img);
        }
        finally { Directory.Delete(dir, true); }
    }

    private static void Put(byte[] disk, long at, ReadOnlySpan<byte> bytes) => bytes.CopyTo(disk.AsSpan((int)at));

    private static void BootSignature(byte[] disk, long part) { disk[part + 510] = 0x55; disk[part + 511] = 0xAA; }

    [Theory]
    [InlineData(3, 4)]
    [InlineData(1, 2)]
    [InlineData(3, 1)]
    [InlineData(3, 7)]
    public void ReFS_is_reported_with_its_version_and_always_skipped_with_the_upgrade_reason(byte major, byte minor)
    {
        var disk = FourPartitionDisk();
        long p1 = 2048 * 512;
        Put(disk, p1, [0x00, 0x00, 0x00]);
        Put(disk, p1 + 3, "ReFS\0\0\0\0"u8);
        Put(disk, p1 + 16, "FSRS"u8);
        BitConverter.TryWriteBytes(disk.AsSpan((int)p1 + 24), 8192L);
        BitConverter.TryWriteBytes(disk.AsSpan((int)p1 + 32), 512);
        BitConverter.TryWriteBytes(disk.AsSpan((int)p1 + 36), 8);
        disk[p1 + 40] = major;
        disk[p1 + 41] = minor;
        var v = VolumeScanner.Scan(new MemorySource(disk), "crafted", FormatRegistry.Default).Volumes.Single(x => x.Id == "p1");
        Assert.Equal(("refs", $"ReFS {major}.{minor}", false), (v.FileSystem, v.FileSystemVersion, v.Mountable));
        // the exact words of issue 3
        Assert.Equal("read-only ReFS parsing is not supported; on Windows 10 build 17763 and later the OS upgrades ReFS 3.1 volumes to 3.4 when it attaches them, which would make the backup unreadable to older Windows", v.Reason);
    }

    [Fact]
    public void BitLocker_volumes_of_vista_win7_and_to_go_are_encrypted_not_ntfs_or_fat()
    {
        var disk = FourPartitionDisk();
        long p1 = 2048 * 512, p2 = 10240 * 512, p3 = 18432 * 512;
        // Windows 7+: EB 58 90 "-FVE-FS-", GUID at +160
        Put(disk, p1, [0xEB, 0x58, 0x90]);
        Put(disk, p1 + 3, "-FVE-FS-"u8);
        Put(disk, p1 + 11, [0x00, 0x02, 0x08]);
        Put(disk, p1 + 160, BitLockerGuid);
        BootSignature(disk, p1);
        // Vista: EB 52 90 "-FVE-FS-"
        Put(disk, p2, [0xEB, 0x52, 0x90]);
        Put(disk, p2 + 3, "-FVE-FS-"u8);
        BootSignature(disk, p2);
        // To Go: a real FAT32 boot sector from mkfs.fat, OEM name MSWIN4.1 and the GUID at +424
        string dir = RepoPaths.NewScratch("vol-btg");
        try
        {
            string fat = Path.Combine(dir, "f.img");
            Tool.Bash($"truncate -s 4M {fat} && mkfs.fat -F 32 -s 1 {fat} >/dev/null 2>&1");
            var fatBytes = File.ReadAllBytes(fat);
            Put(disk, p3, fatBytes);
            var plainFat = VolumeScanner.Scan(new MemorySource(disk), "crafted", FormatRegistry.Default).Volumes.Single(x => x.Id == "p3");
            Assert.Equal("fat32", plainFat.FileSystem);
        }
        finally { Directory.Delete(dir, true); }
        Put(disk, p3 + 3, "MSWIN4.1"u8);
        Put(disk, p3 + 424, BitLockerGuid);

        var layout = VolumeScanner.Scan(new MemorySource(disk), "crafted", FormatRegistry.Default);
        foreach (var id in new[] { "p1", "p2", "p3" })
        {
            var v = layout.Volumes.Single(x => x.Id == id);
            Assert.Equal(("bitlocker", false, "encrypted (BitLocker)"), (v.FileSystem, v.Mountable, v.Reason));
        }
    }

    [Fact]
    public void LDM_dynamic_disk_is_detected_and_not_mounted()
    {
        var disk = FourPartitionDisk("42,0,0,0");
        Put(disk, 6 * 512, "PRIVHEAD"u8);
        var layout = VolumeScanner.Scan(new MemorySource(disk), "crafted", FormatRegistry.Default);
        var v = layout.Volumes.Single(x => x.Id == "p1");
        Assert.False(v.Mountable);
        Assert.Equal("Windows dynamic disk (LDM): dynamic volumes are not supported yet", v.Reason);
        Assert.Contains("LDM database found", v.PartitionName);
    }

    [Fact]
    public void Swap_holding_a_hibernation_image_is_still_swap_and_says_so()
    {
        var disk = FourPartitionDisk("82,82,0,0");
        string dir = RepoPaths.NewScratch("vol-swap");
        try
        {
            string swap = Path.Combine(dir, "s.img");
            Tool.Bash($"truncate -s 4M {swap} && mkswap {swap} >/dev/null 2>&1");
            var bytes = File.ReadAllBytes(swap);
            Put(disk, 2048 * 512, bytes);
            Put(disk, 10240 * 512, bytes);
        }
        finally { Directory.Delete(dir, true); }
        Put(disk, 10240 * 512 + 4086, "S1SUSPEND\0"u8); // what the kernel writes over SWAPSPACE2 when it hibernates
        var layout = VolumeScanner.Scan(new MemorySource(disk), "crafted", FormatRegistry.Default);
        Assert.Equal("Linux swap space (no files)", layout.Volumes[0].Reason);
        Assert.Equal(("swap", "Linux swap space (holds a hibernation image; no files)"), (layout.Volumes[1].FileSystem, layout.Volumes[1].Reason));
    }

    [Fact]
    public void Raid1_member_with_its_superblock_at_the_end_is_md_even_though_its_start_is_a_filesystem()
    {
        var disk = FourPartitionDisk("fd,83,0,0");
        string dir = RepoPaths.NewScratch("vol-md10");
        try
        {
            string fs = Path.Combine(dir, "e.img");
            Tool.Bash($"truncate -s 4M {fs} && mke2fs -q -F -t ext2 {fs}");
            Put(disk, 2048 * 512, File.ReadAllBytes(fs));
        }
        finally { Directory.Delete(dir, true); }
        // md 1.0: superblock at ((sectors - 16) & ~7) of the 8192-sector partition, level 1 at +72
        long sb = 2048 * 512 + ((8192 - 16) & ~7L) * 512;
        BitConverter.TryWriteBytes(disk.AsSpan((int)sb), 0xA92B4EFCu);
        BitConverter.TryWriteBytes(disk.AsSpan((int)sb + 72), 1);
        var v = VolumeScanner.Scan(new MemorySource(disk), "crafted", FormatRegistry.Default).Volumes[0];
        Assert.Equal(("md-raid", "md 1.0", false), (v.FileSystem, v.FileSystemVersion, v.Mountable));
        Assert.Equal("Linux md RAID member (RAID1, md 1.0): md RAID arrays are not assembled yet", v.Reason);
    }

    [Fact]
    public void Md_raid_member_and_unknown_content_say_what_they_are()
    {
        var disk = FourPartitionDisk("fd,83,7,7");
        long p1 = 2048 * 512, p2 = 10240 * 512;
        BitConverter.TryWriteBytes(disk.AsSpan((int)p1 + 4096), 0xA92B4EFCu);
        Put(disk, p2, Encoding.ASCII.GetBytes("just some text, no filesystem here"));
        var layout = VolumeScanner.Scan(new MemorySource(disk), "crafted", FormatRegistry.Default);
        var md = layout.Volumes.Single(x => x.Id == "p1");
        Assert.Equal(("md-raid", "md 1.2", false), (md.FileSystem, md.FileSystemVersion, md.Mountable));
        Assert.Equal("Linux md RAID member (RAID0, md 1.2): md RAID arrays are not assembled yet", md.Reason);
        var unknown = layout.Volumes.Single(x => x.Id == "p2");
        Assert.Equal(("unknown", false), (unknown.FileSystem, unknown.Mountable));
        Assert.Equal("no filesystem recognized (partition type 83, Linux)", unknown.Reason);
    }
}
