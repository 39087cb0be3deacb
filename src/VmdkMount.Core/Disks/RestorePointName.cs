using VmdkMount.Core.Disks.Vmdk;

namespace VmdkMount.Core.Disks;

/// <summary>
/// The one way a restore point is named: each link of a chain is a point, named by its file name (`child-057.vmdk`,
/// or without `.vmdk` as a `--restore-points` mount shows it), its path, or its index as `info` prints it (0 = the
/// newest link given, counting down to the base).
/// </summary>
public static class RestorePointName
{
    public const string Help = "a restore point is a link of the chain, named by its file name (child-057.vmdk), its path, or its index as `info` prints it (0 = the newest link given)";

    /// <summary>
    /// The index into <paramref name="links"/> (newest first) of the point <paramref name="point"/> names; a path is
    /// compared after <paramref name="fullName"/> (the chain's source store spells its files that way).
    /// </summary>
    public static int Resolve(IReadOnlyList<VmdkLink> links, string point, Func<string, string>? fullName = null)
    {
        if (int.TryParse(point, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index))
        {
            if (index < links.Count) return index;
            throw Unknown(links, point, $"index out of range (0 .. {links.Count - 1})");
        }
        for (int i = 0; i < links.Count; i++)
            if (string.Equals(FileName(links[i]), point, StringComparison.Ordinal) || string.Equals(FolderName(links[i]), point, StringComparison.Ordinal))
                return i;
        if (point.IndexOfAny(Separators) >= 0)
        {
            string full = fullName?.Invoke(point) ?? point;
            for (int i = 0; i < links.Count; i++)
                if (string.Equals(links[i].Path, full, StringComparison.Ordinal) || string.Equals(links[i].Path, point, StringComparison.Ordinal)) return i;
        }
        throw Unknown(links, point, "no link of the chain has that name, path or index");
    }

    private static readonly char[] Separators = ['/', '\\'];

    /// <summary>The link's file name: its path after the last separator (a local path or a URL alike).</summary>
    public static string FileName(VmdkLink link) => link.Path[(link.Path.LastIndexOfAny(Separators) + 1)..];

    /// <summary>The name a point's folder has in a `--restore-points` mount: the link's file name without `.vmdk`.</summary>
    public static string FolderName(VmdkLink link)
    {
        string name = FileName(link);
        return name.EndsWith(".vmdk", StringComparison.OrdinalIgnoreCase) ? name[..^5] : name;
    }

    private static ArgumentException Unknown(IReadOnlyList<VmdkLink> links, string point, string why)
    {
        const int Shown = 8;
        var names = links.Take(Shown).Select((l, i) => $"{i} = {FileName(l)}");
        string more = links.Count > Shown ? $", ... {links.Count - 1} = {FileName(links[^1])}" : "";
        return new ArgumentException($"unknown restore point '{point}': {why}; {Help} (points: {string.Join(", ", names)}{more})");
    }
}
