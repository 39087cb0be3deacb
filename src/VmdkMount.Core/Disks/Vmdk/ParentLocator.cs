using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// Finds a child's parent file: the hint as written (relative to the child's folder, or absolute), the
/// hinted file name beside the child, then any file in the child's folder whose CID equals the child's parentCID,
/// so a renamed or moved backup folder still opens. One instance serves one chain open and remembers the CIDs of
/// the folders it searched, so a chain of renamed files costs one scan, not one per link. Finding only asks the store
/// what a name is; the CID probe opens through the store (regular files only, under --confine), so a FIFO or device
/// named `*.vmdk` in the folder is skipped without blocking. Folders the user adds with --parent-dir are searched
/// last, the same two ways (hinted file name, then CID), in the order given.
/// </summary>
internal sealed class ParentLocator(ISourceStore store, IReadOnlyList<string>? extraFolders = null)
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
        if (ByCid(child, child.Path, dir, seen) is { } byCid) return byCid;
        var searched = new List<string> { dir };
        foreach (string extra in extraFolders ?? [])
        {
            string folder = store.FullName(extra);
            if (searched.Contains(folder, StringComparer.Ordinal)) continue;
            searched.Add(folder);
            // A name inside the folder anchors both searches there: the store resolves and lists relative to a file's folder.
            string anchor = store.FullName(folder.TrimEnd('/') + "/" + (string.IsNullOrWhiteSpace(hint) ? "parent.vmdk" : PathNames.LastComponent(hint)));
            if (!string.IsNullOrWhiteSpace(hint) && Exists(anchor, tried) && !seen.Contains(store.Identity(anchor)))
                return (anchor, $"file name of parentFileNameHint in --parent-dir {folder}");
            if (ByCid(child, anchor, folder, seen) is { } found) return (found.Path, found.FoundBy + " (--parent-dir)");
        }
        string what = string.IsNullOrWhiteSpace(hint)
            ? "the child has no parentFileNameHint"
            : $"parentFileNameHint '{hint}' not found (tried {string.Join(", ", tried.Distinct(StringComparer.Ordinal))})";
        string unlisted = store.WhyNotListed(child.Path) is { } why ? $" ({why})" : "";
        string where = searched.Count == 1 ? $"no file in {dir}" : $"no file in {string.Join(" or ", searched)}";
        throw new ChainException($"{child.Path}: parent disk missing: {what}, and {where} has CID {child.ParentCid:x8}{unlisted}")
        {
            Hint = "if the parent disk lies in another folder, add --parent-dir DIR (repeatable) to search it by file name and CID",
        };
    }

    private (string Path, string FoundBy)? ByCid(VmdkLink child, string anchor, string dir, IReadOnlySet<SourceIdentity> seen)
    {
        if (CidIndex(anchor, dir).TryGetValue(child.ParentCid, out var matches))
            foreach (var m in matches)
                if (m != child.Path && !seen.Contains(store.Identity(m)))
                    return (m, $"CID search in {dir} (parentCID {child.ParentCid:x8})");
        return null;
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
