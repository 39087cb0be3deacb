namespace VmdkMount.Core.Mounting;

/// <summary>
/// Confines a symlink's target to its volume, whatever its text. A reader returns the target as stored (escaped the
/// way it escapes names, so a separator inside a component is never a separator here); this type decides where it
/// points, lexically: the target is joined to the link's own directory (absolute targets to the volume root), `.` and
/// empty components are dropped, and `..` stops at the volume root, as `/..` is `/`. The result is a list of
/// downward components from the volume root, so every rendering below holds no `..` after its leading climb and
/// cannot leave the volume (or DEST) even when it passes through other links, each of which is confined the same way.
///
/// Lexical rather than physical resolution is deliberate: the kernel would follow an intermediate link before a later
/// `..`, and a link to `/` followed by `../../..` climbs above any mount. The cost is that `dir/../x` where `dir` is
/// itself a link resolves to `x` beside the link, not beside the link's target.
/// </summary>
public static class LinkTarget
{
    /// <summary>Bounds the work on a hostile target (the longest target ext allows is 64 KiB).</summary>
    public const int MaxComponents = 32768;

    /// <summary>
    /// Where <paramref name="target"/> points, as components below the volume root. <paramref name="linkDirectory"/>
    /// is the components of the folder that holds the link (empty for the volume root).
    /// </summary>
    public static List<string> Resolve(string target, IReadOnlyList<string> linkDirectory)
    {
        var result = new List<string>();
        if (!target.StartsWith('/'))
            for (int i = 0; i < linkDirectory.Count && i < MaxComponents; i++) result.Add(linkDirectory[i]);
        int seen = 0;
        foreach (var part in target.Split('/'))
        {
            if (++seen > MaxComponents) break;
            if (part.Length == 0 || part == ".") continue;
            if (part == "..")
            {
                if (result.Count > 0) result.RemoveAt(result.Count - 1);
                continue;
            }
            result.Add(part);
        }
        return result;
    }

    /// <summary>The volume-absolute form: `/` followed by the resolved components (`/` for the root).</summary>
    public static string VolumeAbsolute(string target, IReadOnlyList<string> linkDirectory) =>
        "/" + string.Join('/', Resolve(target, linkDirectory));

    /// <summary>
    /// A target relative to the link's folder that leads to the same place: `..` once per level up to the deepest
    /// folder the two share, then downward components. Used where the tree that holds the link is a copy of the
    /// volume whose root is <paramref name="linkDirectory"/>.Count levels up (extract into DEST).
    /// </summary>
    public static string Relative(string target, IReadOnlyList<string> linkDirectory)
    {
        var to = Resolve(target, linkDirectory);
        int common = 0;
        while (common < to.Count && common < linkDirectory.Count && to[common] == linkDirectory[common]) common++;
        var parts = new List<string>(linkDirectory.Count - common + to.Count - common);
        for (int i = common; i < linkDirectory.Count; i++) parts.Add("..");
        for (int i = common; i < to.Count; i++) parts.Add(to[i]);
        return parts.Count == 0 ? "." : string.Join('/', parts);
    }

    /// <summary>
    /// A relative target as stored when it is already safe to hand to the kernel (every `..` leads, at most as many as
    /// the link's depth, then only downward components, so no intermediate link can be climbed out of), otherwise
    /// <see cref="Relative"/>: faithful for the links real systems hold (`../lib/x`), confined for every other text.
    /// </summary>
    public static string RelativeKeepingSafeText(string target, IReadOnlyList<string> linkDirectory)
    {
        if (target.StartsWith('/')) return Relative(target, linkDirectory);
        int ups = 0, seen = 0;
        bool downward = false;
        foreach (var part in target.Split('/'))
        {
            if (++seen > MaxComponents) return Relative(target, linkDirectory);
            if (part.Length == 0 || part == ".") continue;
            if (part == "..")
            {
                if (downward || ++ups > linkDirectory.Count) return Relative(target, linkDirectory);
                continue;
            }
            downward = true;
        }
        return target.Length == 0 ? "." : target;
    }

    /// <summary>
    /// The relative form, clamped for a copy whose root is only <paramref name="levelsBelowRoot"/> levels above the
    /// link's folder (extracting a subtree: the part of the volume above it is not there). Computed on the link's
    /// place inside the copy: <paramref name="linkDirectory"/> is the full volume path of the link's folder, of which
    /// the last <paramref name="levelsBelowRoot"/> components lie inside the copy.
    /// </summary>
    public static string RelativeWithin(string target, IReadOnlyList<string> linkDirectory, int levelsBelowRoot)
    {
        int copyRootDepth = Math.Max(0, linkDirectory.Count - Math.Max(0, levelsBelowRoot));
        var to = Resolve(target, linkDirectory);
        // Inside the copy, paths are those of the volume with the copy root's prefix removed; a target outside that
        // prefix is clamped to the copy root, where `..` would stop.
        var prefix = linkDirectory.Take(copyRootDepth).ToList();
        bool under = to.Count >= prefix.Count && prefix.SequenceEqual(to.Take(prefix.Count), StringComparer.Ordinal);
        var inCopy = under ? to.Skip(prefix.Count).ToList() : ClampedTail(to, prefix);
        var dirInCopy = linkDirectory.Skip(copyRootDepth).ToList();
        return Relative("/" + string.Join('/', inCopy), dirInCopy);
    }

    /// <summary>A target outside the copy's root keeps what follows the deepest shared folder, under the copy root.</summary>
    private static List<string> ClampedTail(List<string> to, List<string> prefix)
    {
        int common = 0;
        while (common < to.Count && common < prefix.Count && to[common] == prefix[common]) common++;
        return to.Skip(common).ToList();
    }
}
