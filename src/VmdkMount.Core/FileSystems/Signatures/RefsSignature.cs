using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.FileSystems.Signatures;

/// <summary>ReFS: "ReFS\0\0\0\0" at 3, "FSRS" at 16, major/minor version bytes at 40/41.</summary>
internal static class RefsSignature
{
    private const int OemNameOffset = 3;
    private const int Signature2Offset = 16;
    private const int MajorOffset = 40;
    private const int MinorOffset = 41;

    /// <summary>Why ReFS is never mounted, even once there is a reader: attaching it writable upgrades it.</summary>
    public const string Reason =
        "read-only ReFS parsing is not supported; on Windows 10 build 17763 and later the OS upgrades ReFS 3.1 volumes to 3.4 when it attaches them, which would make the backup unreadable to older Windows";

    public static bool StartsVolume(ReadOnlySpan<byte> h) =>
        SignatureBytes.At(h, OemNameOffset, "ReFS\0\0\0\0") && SignatureBytes.At(h, Signature2Offset, "FSRS");

    public static ProbeResult? Probe(IReadAt volume, ReadOnlySpan<byte> h) =>
        StartsVolume(h) && h.Length > MinorOffset ? new ProbeResult(FileSystemKinds.Refs, $"ReFS {h[MajorOffset]}.{h[MinorOffset]}") : null;
}
