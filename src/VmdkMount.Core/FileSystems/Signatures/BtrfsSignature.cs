using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.FileSystems.Signatures;

/// <summary>The Btrfs superblock at 64 KiB: "_BHRfS_M" at +0x40, label at +0x12B.</summary>
internal static class BtrfsSignature
{
    private const int Superblock = 0x10000;
    private const int MagicOffset = 0x40;
    private const int LabelOffset = 0x12B;
    private const int LabelLength = 256;

    public static ProbeResult? Probe(IReadAt volume, ReadOnlySpan<byte> h) =>
        SignatureBytes.At(h, Superblock + MagicOffset, "_BHRfS_M")
            ? new ProbeResult(FileSystemKinds.Btrfs, Label: SignatureBytes.Utf8Z(h, Superblock + LabelOffset, LabelLength))
            : null;
}
