namespace VmdkMount.Core.Disks;

/// <summary>
/// What the chain itself allows of where its files lie, fixed once per open from <see cref="DiskOpenOptions"/>:
/// whether an extent may lie outside the folder of the descriptor that names it. That a file is a regular, non-kernel
/// file under --confine is not a rule of the chain but of the store every file is opened through
/// (<see cref="Transports.ISourceStore.Open"/>).
/// </summary>
internal sealed record ChainFileRules(bool AllowOutsideExtents)
{
    /// <summary>The default: extents only beside their descriptor.</summary>
    public static ChainFileRules Strict { get; } = new(false);

    public static ChainFileRules From(DiskOpenOptions options) => new(options.AllowOutsideExtents);
}
