using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// Finds a child's parent file (digest 7.1): the hint as written (relative to the child's folder, or absolute), the
/// hinted file name beside the child, then any file in the child's folder whose CID equals the child's parentCID,
/// so a renamed or moved backup folder still opens. One instance serves one chain open and remembers the CIDs of
/// the folders it searched, so a chain of renamed files costs one scan, not one per link. Finding only stats names;
/// the CID probe opens through the pool (regular files only, under <paramref name="confineTo"/>), so a FIFO or device
/// named `*.vmdk` in the folder is skipped without blocking.
/// </summary>
internal sealed class ParentLocator(FileHandlePool pool, string? confineTo = null)
{
    private readonly Dictionary<string, Dictionary<uint, List<string>>> _cidIndex = new(StringComparer.Ordinal);

    public (string Path, string FoundBy) Locate(VmdkLink child, IReadOnlySet<string> seen)
    {
        string? hint = child.Descriptor?.ParentFileNameHint;
        string dir = Path.GetDirectoryName(child.Path) ?? ".";
        var tried = new List<string>();
        if (!string.IsNullOrWhiteSpace(hint))
        {
            string beside = Path.Combine(dir, PathNames.LastComponent(hint));
            if (PathNames.IsAbsoluteAnyStyle(hint))
            {
                if (Exists(beside, tried)) return (beside, "file name of parentFileNameHint beside the child");
                if (hint.StartsWith('/') && Exists(hint, tried)) return (hint, "parentFileNameHint (absolute path)");
            }
            else
            {
                string joined = Path.GetFullPath(Path.Combine(dir, hint.Replace('\\', '/')));
                if (Exists(joined, tried)) return (joined, "parentFileNameHint");
                if (Exists(beside, tried)) return (beside, "file name of parentFileNameHint beside the child");
            }
        }
        if (CidIndex(dir).TryGetValue(child.ParentCid, out var matches))
            foreach (var m in matches)
                if (!seen.Contains(VmdkChainPaths.Canonical(m)) && m != child.Path)
                    return (m, $"CID search in {dir} (parentCID {child.ParentCid:x8})");
        string what = string.IsNullOrWhiteSpace(hint) ? "the child has no parentFileNameHint" : $"parentFileNameHint '{hint}' not found (tried {string.Join(", ", tried)})";
        throw new ChainException($"{child.Path}: parent disk missing: {what}, and no file in {dir} has CID {child.ParentCid:x8}");
    }

    private static bool Exists(string p, List<string> tried)
    {
        tried.Add(p);
        return File.Exists(p);
    }

    private Dictionary<uint, List<string>> CidIndex(string dir)
    {
        if (_cidIndex.TryGetValue(dir, out var index)) return index;
        index = new Dictionary<uint, List<string>>();
        IEnumerable<string> files;
        try
        {
            files = Directory.EnumerateFiles(dir).Where(f => f.EndsWith(".vmdk", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            files = [];
        }
        foreach (var f in files)
        {
            if (VmdkLinkOpener.ProbeCid(f, pool, confineTo) is not uint cid) continue;
            if (!index.TryGetValue(cid, out var list)) index[cid] = list = new List<string>();
            list.Add(Path.GetFullPath(f));
        }
        _cidIndex[dir] = index;
        return index;
    }
}

internal static class VmdkChainPaths
{
    /// <summary>A path that is the same for two names of one file (symbolic links resolved), for loop detection.</summary>
    public static string Canonical(string path)
    {
        string full = Path.GetFullPath(path);
        try
        {
            var target = File.ResolveLinkTarget(full, returnFinalTarget: true);
            return target is null ? full : Path.GetFullPath(target.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return full;
        }
    }
}
