using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Volumes;

/// <summary>
/// One volume found on a disk: a partition-table entry, an LVM logical volume, or the whole disk.
/// <see cref="Data"/> reads the volume's bytes addressed from 0; for a striped LV it is a mapped view.
/// </summary>
public sealed record Volume
{
    /// <summary>
    /// `p1`, `p5`, `lvm-vg0-root`, `disk`: the ids README.md promises (users and scripts type them). With several
    /// disks a disk's own volumes carry its 1-based position in front (`d1p2`, `d2disk`); LVs never do, they span disks.
    /// </summary>
    public required string Id { get; init; }

    /// <summary>Byte offset on the disk where the volume starts (for an LV: where its first extent is, on the first of <see cref="Disks"/>).</summary>
    public required long Offset { get; init; }

    public required long Size { get; init; }

    /// <summary>`mbr`, `gpt`, `lvm`, `none`.</summary>
    public required string Scheme { get; init; }

    /// <summary>MBR type as two hex digits (`07`), GPT type GUID (lower case), LVM segment type; null for `disk`.</summary>
    public string? PartitionType { get; init; }

    /// <summary>GPT partition name or a well-known type name; LV name for LVM.</summary>
    public string? PartitionName { get; init; }

    /// <summary>One of ntfs, fat12, fat16, fat32, exfat, ext2, ext3, ext4, xfs, btrfs, refs, bitlocker, luks, swap, lvm2-pv, md-raid, iso9660, unknown.</summary>
    public required string FileSystem { get; init; }

    /// <summary>Version detail where it matters to the user (e.g. "ReFS 3.4", "LUKS2").</summary>
    public string? FileSystemVersion { get; init; }

    public string? Label { get; init; }

    public required bool Mountable { get; init; }

    /// <summary>Why the volume is not mounted; null when mountable.</summary>
    public string? Reason { get; init; }

    /// <summary>
    /// Flags from the partition table: `active` (MBR boot flag), `hidden` and `recovery` (MBR hidden/recovery type ids,
    /// GPT Windows RE type); for GPT `required`, `no-block-io`, `legacy-bios-bootable`, and for Microsoft basic data
    /// `read-only`, `shadow-copy`, `hidden`, `no-drive-letter`.
    /// </summary>
    public IReadOnlyList<string> Attributes { get; init; } = [];

    /// <summary>GPT unique partition GUID (lower case); null for MBR, LVM and whole-disk volumes.</summary>
    public string? PartitionGuid { get; init; }

    /// <summary>
    /// 1-based positions (in the order the disks were given) of the disks the volume lies on: one for a partition; for
    /// an LV every present PV's, the one holding its first extent first (where <see cref="Offset"/> is).
    /// </summary>
    public IReadOnlyList<int> Disks { get; init; } = [1];

    /// <summary>The volume's bytes.</summary>
    public required IReadAt Data { get; init; }

    /// <summary>
    /// The volume cannot be used because its partition-table entry or its LVM metadata is damaged (out of range, past
    /// the disk's end, unreadable label), as opposed to a volume skipped by policy (ReFS, BitLocker, swap ...).
    /// `check` counts the first kind as a problem; <see cref="Reason"/> says which.
    /// </summary>
    public bool Damaged { get; init; }
}

/// <summary>What volume discovery found on a disk (with several disks: on one of them, or, merged, on all; see <see cref="VmLayout"/>).</summary>
public sealed record DiskLayout
{
    /// <summary>`mbr`, `gpt`, `lvm`, `none`.</summary>
    public required string Scheme { get; init; }

    public required int SectorSize { get; init; }

    public required IReadOnlyList<Volume> Volumes { get; init; }

    /// <summary>Things a person should know (backup GPT header used, overlapping partitions, ...).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>
    /// Damage found in the partition tables themselves (a GPT header or entry array whose CRC fails, a missing or
    /// disagreeing backup GPT, overlapping partitions), for `check`; the same facts are among <see cref="Warnings"/>.
    /// </summary>
    public IReadOnlyList<string> Problems { get; init; } = [];
}

/// <summary>
/// What volume discovery found on all disks of one VM: each disk's own volumes, and the LVM logical volumes assembled
/// from the PVs of all of them.
/// </summary>
public sealed record VmLayout
{
    /// <summary>Per disk, in the order given: its partitions (or whole-disk volume), warnings and table problems.</summary>
    public required IReadOnlyList<DiskLayout> Disks { get; init; }

    /// <summary>The LVs of every volume group found (ids `lvm-VG-LV`).</summary>
    public required IReadOnlyList<Volume> LogicalVolumes { get; init; }

    /// <summary>About volume groups: missing or duplicate PVs, unreadable metadata copies.</summary>
    public required IReadOnlyList<string> LvmWarnings { get; init; }

    /// <summary>
    /// All of it as one layout: every disk's volumes, then the LVs; every warning and problem. With one disk this is
    /// exactly what a single-disk scan reports. Scheme and sector size are the first disk's.
    /// </summary>
    public DiskLayout Merge() => new()
    {
        Scheme = Disks[0].Scheme,
        SectorSize = Disks[0].SectorSize,
        Volumes = [.. Disks.SelectMany(d => d.Volumes), .. LogicalVolumes],
        Warnings = [.. Disks.Count == 1 ? Disks[0].Warnings : Disks.SelectMany((d, i) => d.Warnings.Select(w => $"d{i + 1}: {w}")), .. LvmWarnings],
        Problems = [.. Disks.Count == 1 ? Disks[0].Problems : Disks.SelectMany((d, i) => d.Problems.Select(w => $"d{i + 1}: {w}"))],
    };
}
