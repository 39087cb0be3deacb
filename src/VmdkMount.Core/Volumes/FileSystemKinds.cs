namespace VmdkMount.Core.Volumes;

/// <summary>The `filesystem` values of the CLI contract.</summary>
public static class FileSystemKinds
{
    public const string Ntfs = "ntfs", Fat12 = "fat12", Fat16 = "fat16", Fat32 = "fat32", ExFat = "exfat";
    public const string Ext2 = "ext2", Ext3 = "ext3", Ext4 = "ext4", Xfs = "xfs", Btrfs = "btrfs", Refs = "refs";
    public const string BitLocker = "bitlocker", Luks = "luks", Swap = "swap", LvmPv = "lvm2-pv", MdRaid = "md-raid";
    public const string Iso9660 = "iso9660", Unknown = "unknown";
}
