using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// The folder of a descriptor, where its extents must be (VMware writes plain file names): the folder as named, its
/// real path (links resolved) for the containment check, the descriptor, and the store and rules of this chain open.
/// </summary>
internal sealed record ExtentFolder(ISourceStore Store, string Dir, string RealDir, string DescriptorPath, ChainFileRules Rules)
{
    /// <summary>The refusal of an extent that leaves the folder; <paramref name="realPath"/> when a link led it out.</summary>
    public SourceUnavailableException Outside(string extent, string? realPath) => new(extent,
        $"refused: extent named by {DescriptorPath}" + (realPath is null || realPath == extent ? "" : $" resolves to {realPath}, which")
        + $" lies outside the descriptor's folder {Dir}; use --allow-outside-extents to allow it");
}
