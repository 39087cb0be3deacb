using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// Finds a child's parent file: the hint as written (relative to the child's folder, or absolute), the
/// hinted file name beside the child, then any file in the child's folder whose CID equals the child's parentCID,
/// so a renamed or moved backup folder still opens. One instance serves one chain open and remembers the CIDs of
/// the folders it searched, so a chain of renamed files costs one scan, not one per link. Finding only asks the store
/// what a name is; the CID probe opens through the store (regular files only, under --confine), so a FIFO or device
/// named `*.vmdk` in the folder is skipped without blocking.
/// </summary>
internal sealed class ParentLocator(ISourceStore store)
{
    private readonly Dictionary<string, Dictionary<uint, List<string>>> _cidIndex = new(StringComparer.Ordinal);

    public (string Path, string FoundBy) Locate(VmdkLink child, IReadOnlySet<SourceIdentity> seen)
    {
        string? hint = child.Descriptor?.ParentFileNameHint;
        string dir = store.FolderOf(child.Path);
        var tried = new List<string>();
        if (!string.IsNullOrWhiteSpace(hint))
        {
            string beside = store.Resolve(child.Path, PathNames.LastComponent(hint));
            if (PathNames.IsAbsoluteAnyStyle(hint))
            {
                if (Exists(beside, tried)) return (beside, "file name of parentFileNameHint beside the child");
                if (hint.StartsWith('/') && Exists(hint, tried)) return (hint, "parentFileNameHint (absolute path)");
            }
            else
            {
                // Hints written on Windows separate with backslashes.
                string joined = store.Resolve(child.Path, hint.Replace('\\', '/'));
                if (Exists(joined, tried)) return (joined, "parentFileNameHint");
                if (Exists(beside, tried)) return (beside, "file name of parentFileNameHint beside the child");
            }
        }
        if (CidIndex(child.Path, dir).TryGetValue(child.ParentCid, out var matches))
            foreach (var m in matches)
                if (m != child.Path && !seen.Contains(store.Identity(m)))
                    return (m, $"CID search in {dir} (parentCID {child.ParentCid:x8})");
        string what = string.IsNullOrWhiteSpace(hint) ? "the child has no parentFileNameHint" : $"parentFileNameHint '{hint}' not found (tried {string.Join(", ", tried)})";
        string unlisted = store.WhyNotListed(child.Path) is { } why ? $" ({why})" : "";
        throw new ChainException($"{child.Path}: parent disk missing: {what}, and no file in {dir} has CID {child.ParentCid:x8}{unlisted}");
    }

    private bool Exists(string p, List<string> tried)
    {
        tried.Add(p);
        return store.Kind(p).IsFile();
    }

    /// <summary>The CIDs of the `.vmdk` files beside <paramref name="child"/> (in <paramref name="dir"/>), probed once per folder.</summary>
    private Dictionary<uint, List<string>> CidIndex(string child, string dir)
    {
        if (_cidIndex.TryGetValue(dir, out var index)) return index;
        index = new Dictionary<uint, List<string>>();
        var files = store.FilesBeside(child).Where(f => f.EndsWith(".vmdk", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal);
        foreach (var f in files)
        {
            if (VmdkLinkOpener.ProbeCid(f, store) is not uint cid) continue;
            if (!index.TryGetValue(cid, out var list)) index[cid] = list = new List<string>();
            list.Add(f);
        }
        _cidIndex[dir] = index;
        return index;
    }
}
