using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.FileSystems;

/// <summary>
/// Recognises a format from a volume's first bytes (<paramref name="head"/>: up to 65 KiB from offset 0; fewer when
/// the volume is smaller) plus, where the format needs them, a few small reads. Null when it is not this format.
/// Raises only the typed errors of a read that fails.
/// </summary>
public delegate ProbeResult? FormatProbe(IReadAt volume, ReadOnlySpan<byte> head);

/// <summary>Opens a volume with its reader. <paramref name="name"/> is how messages name the volume.</summary>
public delegate IFileSystem FormatOpen(IReadAt volume, string name, FileSystemOptions options);

/// <summary>Whether sector 0 (up to 8 KiB) is this format's boot sector or header (see <see cref="IVolumeFormats.StartsWholeDiskVolume"/>).</summary>
public delegate bool FormatSectorZeroTest(ReadOnlySpan<byte> sector0);

/// <summary>
/// One row of the table of formats (<see cref="FormatRegistry"/>): the kinds it reports, how it is recognised,
/// how it is opened, and what its reader can do. A format without a reader (Btrfs, ReFS, LUKS ...) is probe-only:
/// it is listed by volume discovery with the reason it is not mounted.
/// </summary>
public sealed record FileSystemFormat
{
    /// <summary>How people write the format in messages: `NTFS`, `ext`, `FAT`, `exFAT`, `XFS`.</summary>
    public required string DisplayName { get; init; }

    /// <summary>The `filesystem` words of the CLI contract this format's probe reports (ext2/ext3/ext4 for ext).</summary>
    public required IReadOnlyList<string> Kinds { get; init; }

    public required FormatProbe Probe { get; init; }

    /// <summary>The reader; null for a probe-only format.</summary>
    public FormatOpen? Open { get; init; }

    /// <summary>For a probe-only format: why a volume holding it is not mounted (may use the probe's version and detail).</summary>
    public Func<ProbeResult, string>? NotMountedReason { get; init; }

    /// <summary>What the reader implements beyond the core of <see cref="IFileSystem"/>, known without opening a volume.</summary>
    public FileSystemCapabilities Capabilities { get; init; }

    /// <summary>Set for formats whose header at sector 0 means "no partition table here".</summary>
    public FormatSectorZeroTest? StartsWholeDiskVolume { get; init; }
}
