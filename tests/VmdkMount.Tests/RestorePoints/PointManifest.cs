namespace VmdkMount.Tests.RestorePoints;

/// <summary>
/// One point's tree as the kernel read it (images/points-ext.sh: a loop mount of `qemu-img convert -O raw` of that
/// point): path, type, size, sha256, mode, link target; and the diff of two such snapshots, the oracle of `changed`.
/// </summary>
public sealed record PointManifest(IReadOnlyDictionary<string, PointManifest.Entry> Entries)
{
    public sealed record Entry(string Path, string Type, long Size, string Sha256, string Mode, string Target);

    public static PointManifest Load(string file)
    {
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(file))
        {
            if (line.Length == 0) continue;
            var f = line.Split('\t');
            entries[f[0]] = new Entry(f[0], f[1], long.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture), f[3], f[4], f[5]);
        }
        return new PointManifest(entries);
    }

    /// <summary>`A /path`, `D /path`, `M /path` lines, sorted by path: what `changed` must answer from older to newer.</summary>
    public static List<string> Diff(PointManifest older, PointManifest newer)
    {
        var lines = new List<string>();
        foreach (var path in older.Entries.Keys.Union(newer.Entries.Keys).Order(StringComparer.Ordinal))
        {
            bool inOld = older.Entries.TryGetValue(path, out var o), inNew = newer.Entries.TryGetValue(path, out var n);
            if (!inOld) lines.Add("A " + path);
            else if (!inNew) lines.Add("D " + path);
            else if (Differs(o!, n!)) lines.Add("M " + path);
        }
        return lines;
    }

    private static bool Differs(Entry o, Entry n) =>
        o.Type != n.Type || o.Mode != n.Mode || o.Type switch
        {
            "file" => o.Size != n.Size || o.Sha256 != n.Sha256,
            "symlink" => o.Target != n.Target,
            _ => false,
        };
}
