using System.Buffers.Binary;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.FileSystems.Signatures;

/// <summary>The XFS superblock at 0: "XFSB", big-endian version number at 100 (low 4 bits), label at 108.</summary>
internal static class XfsSignature
{
    private const int VersionOffset = 100;
    private const int LabelOffset = 108;
    private const int LabelLength = 12;

    public static bool StartsVolume(ReadOnlySpan<byte> h) => SignatureBytes.At(h, 0, "XFSB");

    public static ProbeResult? Probe(IReadAt volume, ReadOnlySpan<byte> h)
    {
        if (!StartsVolume(h)) return null;
        int v = h.Length > VersionOffset + 1 ? BinaryPrimitives.ReadUInt16BigEndian(h[VersionOffset..]) & 0xF : 0;
        return new ProbeResult(FileSystemKinds.Xfs, $"XFS v{v}", SignatureBytes.Utf8Z(h, LabelOffset, LabelLength));
    }
}
