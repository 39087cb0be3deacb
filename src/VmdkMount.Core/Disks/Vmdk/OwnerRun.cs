namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// A run of the flattened disk and the link that supplies it: the topmost link with data or zeros there.
/// <see cref="Link"/> is -1 when no link has anything (zeros below the base).
/// </summary>
public readonly record struct OwnerRun(long Start, long Length, int Link, GrainState State)
{
    public long End => Start + Length;
}
