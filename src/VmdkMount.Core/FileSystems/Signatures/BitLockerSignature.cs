using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.FileSystems.Signatures;

/// <summary>
/// BitLocker: "-FVE-FS-" as the OEM name (Vista, Windows 7+), or, for BitLocker To Go, a FAT boot sector with OEM
/// name MSWIN4.1 and the BitLocker GUID at 424. Probed before NTFS and FAT, whose boot sectors these resemble.
/// </summary>
internal static class BitLockerSignature
{
    private const int OemNameOffset = 3;
    private const int ToGoGuidOffset = 424;
    private static readonly Guid Guid = new("4967D63B-2E29-4AD8-8399-F6A339E3D001");

    public const string Reason = "encrypted (BitLocker)";

    /// <summary>Only the "-FVE-FS-" form owns a whole disk; To Go is a FAT volume and is judged as one.</summary>
    public static bool StartsVolume(ReadOnlySpan<byte> h) => SignatureBytes.At(h, OemNameOffset, "-FVE-FS-");

    public static ProbeResult? Probe(IReadAt volume, ReadOnlySpan<byte> h)
    {
        if (StartsVolume(h)) return new ProbeResult(FileSystemKinds.BitLocker);
        if (SignatureBytes.At(h, OemNameOffset, "MSWIN4.1") && h.Length >= ToGoGuidOffset + 16
            && new Guid(h.Slice(ToGoGuidOffset, 16)) == Guid)
            return new ProbeResult(FileSystemKinds.BitLocker, Detail: "BitLocker To Go");
        return null;
    }
}
