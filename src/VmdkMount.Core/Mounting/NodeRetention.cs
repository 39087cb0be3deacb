namespace VmdkMount.Core.Mounting;

/// <summary>
/// How long a <see cref="MountTree"/> keeps the nodes it handed to a frontend. FUSE counts lookups and forgets
/// (<see cref="LookupCounted"/>): the kernel says when it drops a node, so a scan of millions of files does not keep
/// them all. A frontend that names files by path and never forgets (the CLI, one short command) keeps every node it
/// reached (<see cref="KeepAll"/>). The tree calls these under its own lock.
/// </summary>
public abstract class NodeRetention
{
    /// <summary>Lookup counting, for frontends that are told when a node is dropped (FUSE FORGET).</summary>
    public static NodeRetention LookupCounted { get; } = new LookupCountRetention();

    /// <summary>Nodes stay known for the life of the tree.</summary>
    public static NodeRetention KeepAll { get; } = new KeepAllRetention();

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
}
