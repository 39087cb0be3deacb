using System.Buffers.Binary;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.FileSystems.Signatures;

/// <summary>A LUKS (Linux disk encryption) header: magic at 0, big-endian version at 6; LUKS2 keeps a label at 24.</summary>
internal static class LuksSignature
{
    private const string Magic = "LUKS\xBA\xBE";
    private const int VersionOffset = 6;
    private const int Luks2LabelOffset = 24;
    private const int Luks2LabelLength = 48;

    public const string Reason = "encrypted (LUKS)";

    public static bool StartsVolume(ReadOnlySpan<byte> h) => SignatureBytes.At(h, 0, Magic);

    public static ProbeResult? Probe(IReadAt volume, ReadOnlySpan<byte> h)
    {
        if (!StartsVolume(h)) return null;
        int version = h.Length >= 8 ? BinaryPrimitives.ReadUInt16BigEndian(h[VersionOffset..]) : 0;
        string? label = version == 2 ? SignatureBytes.Utf8Z(h, Luks2LabelOffset, Luks2LabelLength) : null;
        return new ProbeResult(FileSystemKinds.Luks, $"LUKS{version}", label);
    }
}
