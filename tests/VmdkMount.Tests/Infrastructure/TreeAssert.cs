namespace VmdkMount.Tests.Infrastructure;

/// <summary>Compares two folder trees on the host: same entries, same kinds, same bytes, same link targets (and mtimes).</summary>
public static class TreeAssert
{
    public static void Equal(string expectedRoot, string actualRoot, bool compareTimes)
    {
        var expected = Describe(expectedRoot, compareTimes);
        var actual = Describe(actualRoot, compareTimes);
        var missing = expected.Keys.Except(actual.Keys).Order().ToList();
        var extra = actual.Keys.Except(expected.Keys).Order().ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"missing: [{string.Join(", ", missing.Take(20))}] extra: [{string.Join(", ", extra.Take(20))}]");
        foreach (var (path, desc) in expected)
            Assert.True(desc == actual[path], $"{path}: expected {desc}, got {actual[path]}");
    }

    private static Dictionary<string, string> Describe(string root, bool compareTimes)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var entry in new DirectoryInfo(dir).EnumerateFileSystemInfos())
            {
                string rel = "/" + Path.GetRelativePath(root, entry.FullName);
                if (entry.LinkTarget is { } target)
                    result[rel] = "link:" + target;
                else if (entry is DirectoryInfo d)
                {
                    result[rel] = "dir";
                    pending.Push(d.FullName);
                }
                else
                {
                    string time = compareTimes ? " mtime:" + entry.LastWriteTimeUtc.ToString("o") : "";
                    result[rel] = $"file:{((FileInfo)entry).Length}:{Hashing.Sha256File(entry.FullName)}{time}";
                }
            }
        }
        return result;
    }
}
