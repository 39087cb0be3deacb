using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Volumes;

/// <summary>
/// What volume discovery needs to know about formats: what a volume holds and whether it is mounted. The table of
/// formats itself (<c>FileSystems.FormatRegistry</c>) sits in the layer above, because a format's probe is its
/// reader's own code; the scanner is handed the table, so this layer never knows about readers.
/// </summary>
public interface IVolumeFormats
{
    /// <summary>
    /// Identifies a volume by content signatures (partitions.md section 6), never by partition type. Never raises
    /// for damaged content: what cannot be read becomes <see cref="FileSystemKinds.Unknown"/> with a detail.
    /// </summary>
    ProbeResult Probe(IReadAt volume);

    /// <summary>Why a volume with this content is not mounted, in words a person understands; null when a reader mounts it.</summary>
    string? NotMountedReason(ProbeResult probe);

    /// <summary>
    /// Whether sector 0 is the boot sector or header of a volume that owns the whole disk (no partition table),
    /// so the partition-table parser must not read it as an MBR even if it ends in 55 AA (superfloppy check).
    /// </summary>
    bool StartsWholeDiskVolume(ReadOnlySpan<byte> sector0);
}
