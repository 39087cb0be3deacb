using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks;

/// <summary>
/// A flattened virtual disk: what the guest saw. For a VMDK chain, the newest link with every older link
/// showing through where the newer ones hold no data. <see cref="IReadAt.Length"/> is the capacity in bytes.
/// </summary>
public interface IVirtualDisk : IReadAt, IDisposable
{
    /// <summary>Where it came from (the path of the newest link, a URL...). Used in messages.</summary>
    string Source { get; }

    /// <summary>Warnings met while opening (unclean shutdown, capacity differs between links, ...).</summary>
    IReadOnlyList<string> Warnings { get; }

    /// <summary>
    /// Every host file this disk reads (descriptors, extent files, parents; empty for a network source), so that a
    /// command that writes to the host can refuse to overwrite its own input.
    /// </summary>
    IReadOnlyList<string> SourceFiles { get; }

    /// <summary>
    /// The allocated byte ranges within [offset, offset+length), in ascending order, merged across chain links
    /// (what VDDK calls QueryAllocatedBlocks). Zeroed grains are not allocated. Thread-safe.
    /// </summary>
    IEnumerable<AllocatedRange> QueryAllocated(long offset, long length);
}

/// <summary>An allocated byte range of a virtual disk.</summary>
public readonly record struct AllocatedRange(long Offset, long Length)
{
    public long End => Offset + Length;
}
