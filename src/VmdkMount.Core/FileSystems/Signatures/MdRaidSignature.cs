using System.Buffers.Binary;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.FileSystems.Signatures;

/// <summary>
/// Linux md RAID member superblocks: v1.1 at the start, v1.2 at 4 KiB, v1.0 8-12 KiB before the end, v0.90 in the
/// last 64 KiB-aligned 64 KiB. Probed before the filesystems (as blkid does): a RAID1 member with an end-of-device
/// superblock also shows its filesystem at the start, and for RAID0/5 that filesystem is only the first chunk.
/// </summary>
internal static class MdRaidSignature
{
    private const uint Magic = 0xA92B4EFC;
    private const int V1LevelOffset = 72, V090LevelOffset = 28;

    public static ProbeResult? Probe(IReadAt volume, ReadOnlySpan<byte> h)
    {
        if (LevelAt(h, 0, V1LevelOffset) is { } l11) return Result("md 1.1", l11);
        if (LevelAt(h, 4096, V1LevelOffset) is { } l12) return Result("md 1.2", l12);
        long sectors = volume.Length / 512;
        if (sectors < 256) return null;
        Span<byte> sb = stackalloc byte[V1LevelOffset + 4];
        long v10 = ((sectors - 16) & ~7L) * 512;
        if (SignatureBytes.ReadFully(volume, v10, sb) == sb.Length && LevelAt(sb, 0, V1LevelOffset) is { } l10) return Result("md 1.0", l10);
        long v090 = ((sectors & ~127L) - 128) * 512;
        if (SignatureBytes.ReadFully(volume, v090, sb) == sb.Length && LevelAt(sb, 0, V090LevelOffset) is { } l090) return Result("md 0.90", l090);
        return null;
    }

    public static string Reason(ProbeResult probe) => $"Linux md RAID member ({probe.Detail}, {probe.Version}): md RAID arrays are not assembled yet";

    private static int? LevelAt(ReadOnlySpan<byte> h, int at, int levelOffset) =>
        h.Length >= at + levelOffset + 4 && BinaryPrimitives.ReadUInt32LittleEndian(h[at..]) == Magic
            ? BinaryPrimitives.ReadInt32LittleEndian(h[(at + levelOffset)..]) : null;

    private static ProbeResult Result(string version, int level) => new(FileSystemKinds.MdRaid, version,
        Detail: level switch { -1 => "linear", >= 0 and <= 10 => $"RAID{level}", _ => $"level {level}" });
}
