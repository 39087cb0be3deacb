using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Volumes;

/// <summary>
/// Windows dynamic disks (LDM). Detected, not assembled: on an MBR disk the database announces itself with a
/// "PRIVHEAD" sector at LBA 6; on a GPT disk by the LDM metadata and data partition types.
/// </summary>
internal static class LdmDetector
{
    private const long PrivHeadLba = 6;

    public const string NotSupportedReason = "Windows dynamic disk (LDM): dynamic volumes are not supported yet";

    public static bool HasPrivHead(IReadAt disk, int sectorSize)
    {
        Span<byte> magic = stackalloc byte[8];
        foreach (int scale in (ReadOnlySpan<int>)[512, sectorSize])
            if (disk.ReadAt(PrivHeadLba * scale, magic) == 8 && magic.SequenceEqual("PRIVHEAD"u8)) return true;
        return false;
    }
}
