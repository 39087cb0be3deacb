namespace VmdkMount.Core.Volumes;

/// <summary>
/// Decides whether a volume is handed to a filesystem reader, and if not, says why in words a person understands.
/// Only filesystems with a reader here are mountable. ReFS is never mounted: attaching it writable upgrades it.
/// </summary>
public static class SkipPolicy
{
    public const string RefsReason =
        "read-only ReFS parsing is not supported; on Windows 10 build 17763 and later the OS upgrades ReFS 3.1 volumes to 3.4 when it attaches them, which would make the backup unreadable to older Windows";

    public const string BitLockerReason = "encrypted (BitLocker)";
    public const string LuksReason = "encrypted (LUKS)";

    public static bool HasReader(string fileSystem) => fileSystem is FileSystemKinds.Ntfs or FileSystemKinds.Fat12
        or FileSystemKinds.Fat16 or FileSystemKinds.Fat32 or FileSystemKinds.ExFat
        or FileSystemKinds.Ext2 or FileSystemKinds.Ext3 or FileSystemKinds.Ext4;

    /// <summary>The reason a volume with this content is not mounted; null when it is mountable.</summary>
    public static string? Reason(ProbeResult probe) => probe.FileSystem switch
    {
        _ when HasReader(probe.FileSystem) => null,
        FileSystemKinds.Refs => RefsReason,
        FileSystemKinds.BitLocker => BitLockerReason,
        FileSystemKinds.Luks => LuksReason,
        FileSystemKinds.Swap => probe.Detail is null ? "Linux swap space (no files)" : $"Linux swap space ({probe.Detail}; no files)",
        FileSystemKinds.LvmPv => "LVM2 physical volume (its logical volumes are listed instead)",
        FileSystemKinds.MdRaid => $"Linux md RAID member ({probe.Detail}, {probe.Version}): md RAID arrays are not assembled yet",
        FileSystemKinds.Xfs => "no reader for XFS yet",
        FileSystemKinds.Btrfs => "no reader for Btrfs yet",
        FileSystemKinds.Iso9660 => "no reader for ISO9660 yet",
        _ => probe.Detail is null ? "no filesystem recognized" : $"no filesystem recognized: {probe.Detail}",
    };
}
