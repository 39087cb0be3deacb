using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Limits;

/// <summary>
/// images/limits-ext.sh's manifest.tsv (the kernel's ext4 reading the volume): type, size, sha256 or link target,
/// path. <see cref="AssertTree"/> compares a host folder that shows the volume (a mount's `p1`, an `extract` DEST)
/// with it: the same entries, the same bytes; links are links, and those that lead to a file lead to the right bytes.
/// </summary>
internal sealed class VolumeManifest
{
    public sealed record Entry(char Type, long Size, string HashOrTarget, string Path);

    private VolumeManifest(List<Entry> entries) => Entries = entries;

    public List<Entry> Entries { get; }

    public IEnumerable<Entry> Files => Entries.Where(e => e.Type == 'f');

    public long FileBytes => Files.Sum(e => e.Size);

    public static VolumeManifest Read(string imageDir) =>
        new(File.ReadAllLines(System.IO.Path.Combine(imageDir, "manifest.tsv")).Where(l => l.Length > 0).Select(l =>
        {
            var f = l.Split('\t');
            return new Entry(f[0][0], long.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture), f[2], f[3]);
        }).ToList());

    /// <summary>The expected sha256 of the file at a volume path (links followed within the manifest); null if none.</summary>
    public string? HashOf(string volumePath)
    {
        for (int hops = 0; hops < 8; hops++)
        {
            var e = Entries.FirstOrDefault(x => x.Path == volumePath);
            if (e is null) return null;
            if (e.Type == 'f') return e.HashOrTarget;
            if (e.Type != 'l') return null;
            string target = e.HashOrTarget;
            volumePath = target.StartsWith('/') ? target : System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(volumePath)!, target));
        }
        return null;
    }

    public void AssertTree(string root)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            foreach (var info in new DirectoryInfo(pending.Pop()).EnumerateFileSystemInfos())
            {
                string rel = "/" + System.IO.Path.GetRelativePath(root, info.FullName);
                if (rel == "/lost+found") continue;
                seen.Add(rel);
                if (info is DirectoryInfo { LinkTarget: null } d) pending.Push(d.FullName);
            }
        }
        var expected = Entries.Select(e => e.Path).ToHashSet(StringComparer.Ordinal);
        Assert.True(seen.SetEquals(expected),
            $"missing: [{string.Join(", ", expected.Except(seen).Take(10))}] extra: [{string.Join(", ", seen.Except(expected).Take(10))}]");
        foreach (var e in Entries)
        {
            string host = root + e.Path;
            var info = new FileInfo(host);
            switch (e.Type)
            {
                case 'd':
                    Assert.True(Directory.Exists(host) && info.LinkTarget is null, $"{e.Path}: not a folder");
                    break;
                case 'f':
                    Assert.True(info.LinkTarget is null && info.Length == e.Size, $"{e.Path}: expected {e.Size} bytes, got {info.Length}");
                    Assert.True(Hashing.Sha256File(host) == e.HashOrTarget, $"{e.Path}: wrong bytes");
                    break;
                case 'l':
                    Assert.True(info.LinkTarget is not null, $"{e.Path}: not a symbolic link");
                    if (HashOf(e.Path) is { } h)
                        Assert.True(Hashing.Sha256File(host) == h, $"{e.Path}: the link leads to the wrong bytes");
                    else
                        Assert.False(File.ResolveLinkTarget(host, returnFinalTarget: true) is { Exists: true }, $"{e.Path}: a dangling link leads to a file");
                    break;
            }
        }
    }
}
