using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>How volume discovery recognises NTFS: the reader's own boot-sector test, and the label as the reader reads it.</summary>
public sealed partial class NtfsFileSystem
{
    internal static bool StartsVolume(ReadOnlySpan<byte> sector0) => NtfsBootSector.HasSignature(sector0);

    internal static ProbeResult? Probe(IReadAt volume, ReadOnlySpan<byte> head) =>
        NtfsBootSector.HasSignature(head) ? new ProbeResult(FileSystemKinds.Ntfs, Label: ReaderLabel.Of(volume, Open)) : null;
}
