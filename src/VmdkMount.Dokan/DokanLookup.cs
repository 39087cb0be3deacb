using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;

namespace VmdkMount.Dokan;

/// <summary>What a path names: the node (links followed), or why there is none.</summary>
public readonly record struct Resolved(MountInode? Node, bool ParentMissing)
{
    public bool Found => Node is not null;
}

/// <summary>
/// Windows paths over the mount model. Windows compares names without case; each volume answers by its own rules:
/// NTFS and FAT readers already look up the way their OS does (NTFS through $UpCase), and for a case-sensitive
/// volume (ext, XFS) the exact name wins, else the one name that differs only in case; two such names (ext can hold
/// `Case.txt` and `case.txt`) make the inexact spelling ambiguous, and it names nothing rather than a guess.
/// Symlinks and junctions are followed inside their volume (<see cref="LinkTarget"/> confines every target, so no
/// walk leaves the mount); a link whose target is not there, or that loops, stays as itself: a plain empty file.
/// </summary>
public sealed class DokanLookup(MountTree tree, NegativeCache misses)
{
    public MountTree Tree { get; } = tree;

    public NegativeCache Misses { get; } = misses;

    public Resolved Resolve(IReadOnlyList<string> components)
    {
        var current = Tree.Root;
        for (int i = 0; i < components.Count; i++)
        {
            // A file in the middle of a path: Windows calls the path, not the name, missing.
            if (!current.IsDirectory) return new Resolved(null, ParentMissing: true);
            var child = Child(current, components[i]);
            if (child is null) return new Resolved(null, ParentMissing: i < components.Count - 1);
            current = Follow(child);
        }
        return new Resolved(current, false);
    }

    /// <summary>The entry called <paramref name="name"/> in <paramref name="dir"/> (not followed), by the volume's case rules.</summary>
    public MountInode? Child(MountInode dir, string name)
    {
        var key = FolderKey.Of(dir);
        if (Misses.IsKnownMissing(key, name)) return null;
        var found = Tree.Lookup(dir, name) ?? (CaseInsensitiveReader(dir) ? null : UniqueIgnoringCase(dir, name));
        if (found is null) Misses.Add(key, name);
        return found;
    }

    /// <summary>A symlink's target inside its volume, followed as far as it goes; the link itself when it leads nowhere.</summary>
    public MountInode Follow(MountInode node)
    {
        if (node.Kind != MountNodeKind.FsNode || node.Node!.Type != FsNodeType.Symlink || node.FileSystem is not ISymlinkReader links) return node;
        try
        {
            var inVolume = LinkTarget.Resolve(links.ReadLink(node.Node.Id), MountTree.DirectoryComponents(node.Parent));
            string prefix = Tree.Options.SingleVolume is null ? "/" + node.VolumeId : "";
            var target = Tree.ResolveFollowingLinks(prefix + "/" + string.Join('/', inVolume), followLast: true, Tree.DisplayPath(node));
            return target.Kind == MountNodeKind.FsNode && target.Node!.Type == FsNodeType.Symlink ? node : target;
        }
        catch (VmdkMountException)
        {
            // missing, looping (PathNotFoundException) or unreadable: the link is shown as itself, and a listing
            // that holds it still lists
            return node;
        }
    }

    private static bool CaseInsensitiveReader(MountInode dir) =>
        dir.FileSystem?.Kind is "ntfs" or "fat12" or "fat16" or "fat32" or "exfat";

    private MountInode? UniqueIgnoringCase(MountInode dir, string name)
    {
        MountInode? unique = null;
        foreach (var (entryName, inode) in Tree.List(dir))
        {
            if (!string.Equals(entryName, name, StringComparison.OrdinalIgnoreCase)) continue;
            if (unique is not null) return null;
            unique = inode;
        }
        return unique;
    }
}
