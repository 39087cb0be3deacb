using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>How volume discovery recognises FAT12/16/32: the reader's boot-sector code, and the label as the reader shows it.</summary>
public sealed partial class FatFileSystem
{
    internal static ProbeResult? Probe(IReadAt volume, ReadOnlySpan<byte> head) =>
        FatBootSector.Recognize(head) is { } kind ? new ProbeResult(kind, Label: ReaderLabel.Of(volume, Open)) : null;
}
