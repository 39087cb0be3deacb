namespace VmdkMount.Core.Mounting;

/// <summary>
/// How long a <see cref="MountTree"/> keeps the nodes it handed to a frontend. FUSE counts lookups and forgets
/// (<see cref="LookupCounted"/>): the kernel says when it drops a node, so a scan of millions of files does not keep
/// them all. A path walker (the CLI's `ls -R` and `extract`) is never asked to forget but knows when it is done with
/// a folder (<see cref="UntilPassed"/>): the tree then lets go of the folder's listing and of the nodes it made for
/// it, so a walk of any size holds only the walker's own stack. <see cref="KeepAll"/> keeps every node reached.
/// The tree calls these under its own lock.
/// </summary>
public abstract class NodeRetention
{
    /// <summary>Lookup counting, for frontends that are told when a node is dropped (FUSE FORGET).</summary>
    public static NodeRetention LookupCounted { get; } = new LookupCountRetention();

    /// <summary>Nodes stay known for the life of the tree.</summary>
    public static NodeRetention KeepAll { get; } = new KeepAllRetention();

    /// <summary>
    /// Nodes below a folder stay known until the walker says it has passed the folder (<see cref="MountTree.Passed"/>);
    /// lookup counts are not kept (a path walker never forgets).
    /// </summary>
    public static NodeRetention UntilPassed { get; } = new UntilPassedRetention();

    /// <summary>Whether <see cref="MountTree.Passed"/> lets go of a folder's listing and children.</summary>
    internal virtual bool LetsGoOfPassed => false;

    /// <summary>The frontend handed <paramref name="inode"/> out once more.</summary>
    internal abstract void Retain(MountInode inode);

    /// <summary>The frontend dropped <paramref name="count"/> references; true when the node is to be let go.</summary>
    internal abstract bool Release(MountInode inode, ulong count);

    private sealed class LookupCountRetention : NodeRetention
    {
        internal override void Retain(MountInode inode) => inode.LookupCount++;

        internal override bool Release(MountInode inode, ulong count)
        {
            inode.LookupCount = inode.LookupCount > count ? inode.LookupCount - count : 0;
            return inode.LookupCount == 0;
        }
    }

    private sealed class KeepAllRetention : NodeRetention
    {
        internal override void Retain(MountInode inode) { }

        internal override bool Release(MountInode inode, ulong count) => false;
    }

    private sealed class UntilPassedRetention : NodeRetention
    {
        internal override bool LetsGoOfPassed => true;

        internal override void Retain(MountInode inode) { }

        internal override bool Release(MountInode inode, ulong count) => false;
    }
}
