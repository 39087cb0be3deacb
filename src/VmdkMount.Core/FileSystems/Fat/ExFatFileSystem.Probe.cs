using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>How volume discovery recognises exFAT: the reader's file-system name, and the label as the reader shows it.</summary>
public sealed partial class ExFatFileSystem
{
    internal static bool StartsVolume(ReadOnlySpan<byte> sector0) => ExFatBootSector.HasName(sector0);

    internal static ProbeResult? Probe(IReadAt volume, ReadOnlySpan<byte> head) =>
        ExFatBootSector.HasName(head) ? new ProbeResult(FileSystemKinds.ExFat, Label: ReaderLabel.Of(volume, Open)) : null;
}
