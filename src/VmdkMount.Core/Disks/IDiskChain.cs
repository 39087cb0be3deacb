using VmdkMount.Core.Disks.Vmdk;

namespace VmdkMount.Core.Disks;

/// <summary>
/// A virtual disk that is a chain of links (a VMDK chain, newest first), as `info` and `map` show it: the links with
/// their descriptors and extents, and which link supplies each byte. A raw image is not one.
/// </summary>
public interface IDiskChain : IVirtualDisk
{
    /// <summary>The links, newest (index 0) to base.</summary>
    IReadOnlyList<VmdkLink> Links { get; }

    /// <summary>The runs of [offset, offset+length) and, for each, the link (index into <see cref="Links"/>) that supplies it.</summary>
    IEnumerable<OwnerRun> Owners(long offset, long length);
}
