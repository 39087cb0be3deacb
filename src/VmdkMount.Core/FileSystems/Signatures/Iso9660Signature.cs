using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.FileSystems.Signatures;

/// <summary>ISO9660: a primary volume descriptor (type 1, "CD001") at 32 KiB, volume id at +40.</summary>
internal static class Iso9660Signature
{
    private const int Descriptor = 0x8000;
    private const int VolumeIdOffset = 40;
    private const int VolumeIdLength = 32;

    public static ProbeResult? Probe(IReadAt volume, ReadOnlySpan<byte> h) =>
        h.Length > Descriptor + 6 && h[Descriptor] == 1 && SignatureBytes.At(h, Descriptor + 1, "CD001")
            ? new ProbeResult(FileSystemKinds.Iso9660, Label: SignatureBytes.Utf8Z(h, Descriptor + VolumeIdOffset, VolumeIdLength))
            : null;
}
