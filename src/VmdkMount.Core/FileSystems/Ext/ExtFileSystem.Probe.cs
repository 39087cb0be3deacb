using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>How volume discovery recognises ext2/3/4: the reader's own superblock code for signature, kind and label.</summary>
public sealed partial class ExtFileSystem
{
    internal static ProbeResult? Probe(IReadAt volume, ReadOnlySpan<byte> head)
    {
        if (head.Length < ExtSuperblock.VolumeOffset + ExtSuperblock.Size) return null;
        var raw = head.Slice((int)ExtSuperblock.VolumeOffset, ExtSuperblock.Size);
        if (!ExtSuperblock.HasSignature(raw)) return null;
        var (compat, incompat, roCompat) = ExtSuperblock.Features(raw);
        string? label = ExtSuperblock.LabelOf(raw);
        // An external journal holds no files; the reader refuses it, so it is not reported as a filesystem.
        if ((incompat & ExtSuperblock.IncompatJournalDev) != 0)
            return new ProbeResult(FileSystemKinds.Unknown, Label: label, Detail: "ext3/4 external journal device");
        return new ProbeResult(ExtSuperblock.KindOf(compat, incompat, roCompat), Label: label);
    }
}
