using System.Buffers.Binary;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.FileSystems.Signatures;

/// <summary>
/// Linux swap: "SWAPSPACE2" (or the old "SWAP-SPACE") in the last 10 bytes of the first page, for any page size up to
/// 64 KiB; a hibernation image overwrites it with "S1SUSPEND" and kin. Version at 1024, label at 1052.
/// </summary>
internal static class SwapSignature
{
    private const int VersionOffset = 1024;
    private const int LabelOffset = 1052;
    private const int LabelLength = 16;

    public static ProbeResult? Probe(IReadAt volume, ReadOnlySpan<byte> h)
    {
        foreach (int page in (ReadOnlySpan<int>)[4096, 8192, 16384, 65536])
        {
            int at = page - 10;
            if (SignatureBytes.At(h, at, "SWAPSPACE2") || SignatureBytes.At(h, at, "SWAP-SPACE"))
            {
                uint version = h.Length >= VersionOffset + 4 ? BinaryPrimitives.ReadUInt32LittleEndian(h[VersionOffset..]) : 0;
                return new ProbeResult(FileSystemKinds.Swap, version == 1 ? "swap v1" : null, SignatureBytes.Utf8Z(h, LabelOffset, LabelLength));
            }
            if (SignatureBytes.At(h, at, "S1SUSPEND") || SignatureBytes.At(h, at, "S2SUSPEND") || SignatureBytes.At(h, at, "ULSUSPEND")
                || SignatureBytes.At(h, at - 1, "LINHIB0001"))
                return new ProbeResult(FileSystemKinds.Swap, Detail: "holds a hibernation image");
        }
        return null;
    }

    public static string Reason(ProbeResult probe) =>
        probe.Detail is null ? "Linux swap space (no files)" : $"Linux swap space ({probe.Detail}; no files)";
}
