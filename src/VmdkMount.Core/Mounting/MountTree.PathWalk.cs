using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;

namespace VmdkMount.Core.Mounting;

/// <summary>
/// Path resolution over the tree, for frontends that name files by path (the CLI, a Dokan frontend) where FUSE walks
/// one name at a time. Symlinks are followed (when asked) the way the mount shows them: lexically from the link's own
/// place, `..` stopping at its volume's root (<see cref="Mounting.LinkTarget"/>), so no target leads out of the volume.
/// </summary>
public sealed partial class MountTree
{
    /// <summary>How many symlinks one walk follows before it gives up, as the kernel's 40.</summary>
    public const int MaxSymlinkFollows = 40;

    /// <summary>
    /// The node at <paramref name="path"/> below the mount root (`/`, `/p1/Users`, or `/Users` with a single volume);
    /// null when a component is missing or is not a folder. Symlinks are not followed (a path frontend shows them as
    /// links, as FUSE does); `..` goes back along the walk and stops at the root.
    /// </summary>
    public MountInode? Resolve(string path) => Walk(path, followLinks: false, followLast: false, out _);

    /// <summary>
    /// The node at <paramref name="path"/>, following symlinks in the middle of the path, and the last one too when
    /// <paramref name="followLast"/>; throws <see cref="PathNotFoundException"/> naming <paramref name="displayName"/>.
    /// </summary>
    public MountInode ResolveFollowingLinks(string path, bool followLast, string displayName) =>
        Walk(path, followLinks: true, followLast, out string? why)
        ?? throw new PathNotFoundException(why is null ? displayName : $"{displayName} ({why})");

    private MountInode? Walk(string path, bool followLinks, bool followLast, out string? why)
    {
        why = null;
        var pending = new Stack<string>();
        Push(pending, path);
        var walked = new List<MountInode> { Root };
        int follows = 0;
        while (pending.Count > 0)
        {
            string part = pending.Pop();
            if (part == "..")
            {
                if (walked.Count > 1) walked.RemoveAt(walked.Count - 1);
                continue;
            }
            var current = walked[^1];
            if (!current.IsDirectory) return null;
            var next = Lookup(current, part);
            if (next is null) return null;
            if (followLinks && next.Kind == MountNodeKind.FsNode && next.Node!.Type == FsNodeType.Symlink && (pending.Count > 0 || followLast))
            {
                if (++follows > MaxSymlinkFollows)
                {
                    why = "too many levels of symbolic links";
                    return null;
                }
                if (next.FileSystem is not ISymlinkReader links) return null;
                var inVolume = Mounting.LinkTarget.Resolve(links.ReadLink(next.Node.Id), DirectoryComponents(current));
                // Restart at the link's volume root: the tree root with one volume, else that volume's folder.
                int volumeRoot = Options.SingleVolume is null ? 1 : 0;
                walked.RemoveRange(volumeRoot + 1, walked.Count - volumeRoot - 1);
                for (int i = inVolume.Count - 1; i >= 0; i--) pending.Push(inVolume[i]);
                continue;
            }
            walked.Add(next);
        }
        return walked[^1];
    }

    private static void Push(Stack<string> pending, string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = parts.Length - 1; i >= 0; i--)
            if (parts[i] != ".") pending.Push(parts[i]);
    }
}
