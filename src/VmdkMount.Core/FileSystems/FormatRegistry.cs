using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems.Ext;
using VmdkMount.Core.FileSystems.Fat;
using VmdkMount.Core.FileSystems.Ntfs;
using VmdkMount.Core.FileSystems.Signatures;
using VmdkMount.Core.FileSystems.Xfs;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.FileSystems;

/// <summary>
/// The one table of formats: for each, its kinds, its probe, its reader and the reader's capabilities. Volume
/// discovery probes through it (as <see cref="IVolumeFormats"/>, handed to <see cref="VolumeScanner"/>), the mount
/// opens readers through it, and frontends ask it what a kind's reader can do. A kind is mountable exactly when
/// its format has a reader.
/// </summary>
public sealed class FormatRegistry : IVolumeFormats
{
    /// <summary>Bytes every probe sees from offset 0: enough for Btrfs's superblock at 64 KiB.</summary>
    public const int HeadBytes = 0x10400;

    public static FormatRegistry Default { get; } = new(DefaultFormats());

    private readonly Dictionary<string, FileSystemFormat> _byKind;

    /// <param name="formats">In probe order: the first format whose probe matches decides.</param>
    public FormatRegistry(IReadOnlyList<FileSystemFormat> formats)
    {
        Formats = formats;
        _byKind = formats.SelectMany(f => f.Kinds.Select(k => (k, f))).ToDictionary(p => p.k, p => p.f);
    }

    /// <summary>Every format, in probe order.</summary>
    public IReadOnlyList<FileSystemFormat> Formats { get; }

    public FileSystemFormat? Find(string kind) => _byKind.GetValueOrDefault(kind);

    /// <summary>Whether the reader for <paramref name="kind"/> has <paramref name="capability"/> (false for a kind without a reader).</summary>
    public bool Has(string kind, FileSystemCapabilities capability) =>
        Find(kind) is { Open: not null } f && (f.Capabilities & capability) == capability;

    /// <param name="kind">A kind as volume discovery named it (ntfs, ext4, fat32, exfat, ...).</param>
    /// <param name="data">The volume's bytes.</param>
    /// <param name="name">How messages name the volume (e.g. `disk.vmdk:p2`).</param>
    public IFileSystem Open(string kind, IReadAt data, string name, FileSystemOptions? options = null) =>
        Find(kind)?.Open is { } open
            ? open(data, name, options ?? new FileSystemOptions())
            : throw new UnsupportedFeatureException(name, $"no reader for filesystem '{kind}'");

    /// <summary>
    /// Probe order is cheap and unambiguous first and FAT last, because an NTFS or BitLocker boot sector also looks
    /// like a FAT one; md RAID comes first (see <see cref="MdRaidSignature"/>). Reads at most <see cref="HeadBytes"/>
    /// plus a few small reads (labels, md superblocks near the end).
    /// </summary>
    public ProbeResult Probe(IReadAt volume)
    {
        var head = new byte[(int)Math.Min(HeadBytes, volume.Length)];
        int got = SignatureBytes.ReadFully(volume, 0, head);
        ReadOnlySpan<byte> h = head.AsSpan(0, got);
        foreach (var format in Formats)
            if (format.Probe(volume, h) is { } found) return found;
        if (h.IndexOfAnyExcept((byte)0) < 0) return new ProbeResult(FileSystemKinds.Unknown, Detail: "empty (all zero)");
        return ProbeResult.Unknown;
    }

    public string? NotMountedReason(ProbeResult probe) => Find(probe.FileSystem) switch
    {
        { Open: not null } => null,
        { NotMountedReason: { } reason } => reason(probe),
        { } f => $"no reader for {f.DisplayName} yet",
        null => probe.Detail is null ? "no filesystem recognized" : $"no filesystem recognized: {probe.Detail}",
    };

    public bool StartsWholeDiskVolume(ReadOnlySpan<byte> sector0)
    {
        foreach (var format in Formats)
            if (format.StartsWholeDiskVolume is { } test && test(sector0)) return true;
        return false;
    }

    private static FileSystemFormat[] DefaultFormats() =>
    [
        new() { DisplayName = "md RAID", Kinds = [FileSystemKinds.MdRaid], Probe = MdRaidSignature.Probe, NotMountedReason = MdRaidSignature.Reason },
        new()
        {
            DisplayName = "LUKS", Kinds = [FileSystemKinds.Luks], Probe = LuksSignature.Probe, NotMountedReason = _ => LuksSignature.Reason,
            StartsWholeDiskVolume = LuksSignature.StartsVolume,
        },
        new()
        {
            DisplayName = "LVM2 PV", Kinds = [FileSystemKinds.LvmPv],
            Probe = (_, h) => Lvm2Label.FindLabelSector(h) >= 0 ? new ProbeResult(FileSystemKinds.LvmPv) : null,
            NotMountedReason = _ => "LVM2 physical volume (its logical volumes are listed instead)",
            StartsWholeDiskVolume = h => Lvm2Label.FindLabelSector(h) >= 0,
        },
        new()
        {
            DisplayName = "BitLocker", Kinds = [FileSystemKinds.BitLocker], Probe = BitLockerSignature.Probe,
            NotMountedReason = _ => BitLockerSignature.Reason, StartsWholeDiskVolume = BitLockerSignature.StartsVolume,
        },
        new()
        {
            DisplayName = "NTFS", Kinds = [FileSystemKinds.Ntfs], Probe = NtfsFileSystem.Probe, Open = NtfsFileSystem.Open,
            Capabilities = FileSystemCapabilities.Symlinks | FileSystemCapabilities.NamedStreams | FileSystemCapabilities.AllocationMap,
            StartsWholeDiskVolume = NtfsFileSystem.StartsVolume,
        },
        new()
        {
            DisplayName = "exFAT", Kinds = [FileSystemKinds.ExFat], Probe = ExFatFileSystem.Probe, Open = ExFatFileSystem.Open,
            StartsWholeDiskVolume = ExFatFileSystem.StartsVolume,
        },
        new()
        {
            DisplayName = "ReFS", Kinds = [FileSystemKinds.Refs], Probe = RefsSignature.Probe, NotMountedReason = _ => RefsSignature.Reason,
            StartsWholeDiskVolume = RefsSignature.StartsVolume,
        },
        new()
        {
            DisplayName = "XFS", Kinds = [FileSystemKinds.Xfs], Probe = XfsSignature.Probe, Open = XfsFileSystem.Open,
            Capabilities = FileSystemCapabilities.Symlinks | FileSystemCapabilities.AllocationMap | FileSystemCapabilities.ExtendedAttributes,
            StartsWholeDiskVolume = XfsSignature.StartsVolume,
        },
        new()
        {
            DisplayName = "ext", Kinds = [FileSystemKinds.Ext2, FileSystemKinds.Ext3, FileSystemKinds.Ext4], Probe = ExtFileSystem.Probe,
            Open = ExtFileSystem.Open, Capabilities = FileSystemCapabilities.Symlinks | FileSystemCapabilities.AllocationMap,
        },
        new() { DisplayName = "Btrfs", Kinds = [FileSystemKinds.Btrfs], Probe = BtrfsSignature.Probe },
        new() { DisplayName = "swap", Kinds = [FileSystemKinds.Swap], Probe = SwapSignature.Probe, NotMountedReason = SwapSignature.Reason },
        new() { DisplayName = "ISO9660", Kinds = [FileSystemKinds.Iso9660], Probe = Iso9660Signature.Probe },
        new()
        {
            DisplayName = "FAT", Kinds = [FileSystemKinds.Fat12, FileSystemKinds.Fat16, FileSystemKinds.Fat32], Probe = FatFileSystem.Probe,
            Open = FatFileSystem.Open,
        },
    ];
}
