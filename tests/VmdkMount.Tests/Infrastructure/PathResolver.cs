using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;

using VmdkMount.Core.Mounting;

namespace VmdkMount.Tests.Infrastructure;

/// <summary>
/// For reader-level tests: walks a volume path to a node of one <see cref="IFileSystem"/>, iteratively (frontends use
/// <see cref="MountTree.ResolveFollowingLinks"/>). Symlinks in the middle of a path are followed lexically from the
/// link's own place, as <see cref="LinkTarget"/> confines them: absolute targets start at the volume root and `..`
/// stops there, so no target leads out of the volume; a bounded count stops loops, as the kernel's 40 does.
/// </summary>
public static class PathResolver
{
    public const int MaxSymlinkFollows = 40;

    /// <summary>The node at <paramref name="path"/>, or throws <see cref="PathNotFoundException"/>.</summary>
    public static FsNode Resolve(IFileSystem fs, string path, bool followLastSymlink, string displayName)
    {
        var pending = new Stack<string>();
        PushComponents(pending, path);
        var parents = new Stack<FsNode>();
        FsNode current = fs.Stat(fs.RootId);
        int follows = 0;
        while (pending.Count > 0)
        {
            string name = pending.Pop();
            if (name == "..")
            {
                current = parents.Count > 0 ? parents.Pop() : fs.Stat(fs.RootId);
                continue;
            }
            if (current.Type != FsNodeType.Directory) throw new PathNotFoundException(displayName);
            var next = fs.Lookup(current.Id, name) ?? throw new PathNotFoundException(displayName);
            if (next.Type == FsNodeType.Symlink && (pending.Count > 0 || followLastSymlink))
            {
                if (++follows > MaxSymlinkFollows) throw new PathNotFoundException(displayName + " (too many levels of symbolic links)");
                string target = fs is ISymlinkReader links ? links.ReadLink(next.Id) : throw MissingCapability.NoSymlinks(fs, next.Id);
                if (target.StartsWith('/'))
                {
                    parents.Clear();
                    current = fs.Stat(fs.RootId);
                }
                PushComponents(pending, target);
                continue;
            }
            parents.Push(current);
            current = next;
        }
        return current;
    }

    private static void PushComponents(Stack<string> pending, string path)
    {
        var parts = VolumePath.Components(path);
        for (int i = parts.Length - 1; i >= 0; i--) pending.Push(parts[i]);
    }
}
