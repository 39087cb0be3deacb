using System.Text.RegularExpressions;
using VmdkMount.Core.FileSystems;
using VmdkMount.Tests.Infrastructure;
using static VmdkMount.Tests.Fat.FatTestSupport;

namespace VmdkMount.Tests.Fat;

/// <summary>FAT12/16/32 images made by mkfs.fat + mcopy, read by our reader and by mtools and sleuthkit.</summary>
public class FatOracleTests
{
    public static TheoryData<string> Images => new() { "fat12.img", "fat16.img", "fat32.img", "fat16-4k.img" };

    private static Tool.Result Run(string program, params string[] args) =>
        Tool.Run(program, args, env: ToolEnv);

    [Theory]
    [MemberData(nameof(Images))]
    public void Every_file_reads_like_mtools_mcopy(string file)
    {
        string image = Image("fat-basic", file);
        string before = Hashing.Sha256File(image);
        string outDir = RepoPaths.NewScratch("fat-mcopy");
        try
        {
            Run("mcopy", "-s", "-m", "-n", "-i", image, "::/", outDir + "/");
            var expected = DescribeHost(outDir);
            using var opened = new Opened(image, exFat: false);
            var actual = Describe(opened.Fs);
            Assert.True(expected.Count > 40, $"oracle listed only {expected.Count} entries");
            AssertSameTree(expected, actual);
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
        Assert.Equal(before, Hashing.Sha256File(image));
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Listing_sizes_times_and_contents_match_sleuthkit_fls_and_icat(string file)
    {
        string image = Image("fat-basic", file);
        var body = Run("fls", "-r", "-u", "-m", "/", image).StdOut;
        var expected = new Dictionary<string, string>(StringComparer.Ordinal);
        var icatHashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // MD5|name|inode|mode|UID|GID|size|atime|mtime|ctime|crtime
            var f = line.Split('|');
            string path = f[1];
            if (path.StartsWith("/$") || path.EndsWith("(Volume Label Entry)")) continue;
            bool dir = f[3].StartsWith('d');
            expected[path] = Times(dir ? "dir" : "file:" + f[6], long.Parse(f[8]), long.Parse(f[7]), long.Parse(f[10]));
            if (!dir && long.Parse(f[6]) > 0)
                icatHashes[path] = Hashing.Sha256(Run("icat", image, f[2]).StdOutBytes);
        }
        using var opened = new Opened(image, exFat: false);
        var fs = opened.Fs;
        var actual = new Dictionary<string, string>(StringComparer.Ordinal);
        var ourHashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in Walk(fs))
        {
            var n = item.Node;
            string kind = n.Type == FsNodeType.Directory ? "dir" : "file:" + n.Size;
            actual[item.Path] = Times(kind, Sleuthkit(n.Modified), Sleuthkit(n.Accessed), Sleuthkit(n.Created));
            if (n.Type == FsNodeType.File && n.Size > 0) ourHashes[item.Path] = Sha256(fs, n);
        }
        AssertSameTree(expected, actual);
        Assert.True(icatHashes.Count >= 20, $"only {icatHashes.Count} non-empty files per fls");
        AssertSameTree(icatHashes, ourHashes);
    }

    /// <summary>sleuthkit (4.x) prints times as signed 32-bit Unix seconds: 0 when absent or past 2038.</summary>
    private static long Sleuthkit(FsTime? t) => t is { } v && v.UnixSeconds <= int.MaxValue ? v.UnixSeconds : 0;

    private static string Times(string kind, long mtime, long atime, long crtime) => $"{kind} m={mtime} a={atime} cr={crtime}";

    [Theory]
    [MemberData(nameof(Images))]
    public void Kind_label_and_attributes_match_mtools_and_fsstat(string file)
    {
        string image = Image("fat-basic", file);
        using var opened = new Opened(image, exFat: false);
        var fs = opened.Fs;

        string type = Regex.Match(Run("fsstat", image).StdOut, @"File System Type: (FAT\d\d)").Groups[1].Value;
        Assert.Equal(type.ToLowerInvariant(), fs.Kind);
        string label = Regex.Match(Run("mlabel", "-s", "-i", image, "::").StdOut, @"Volume label is (.*)").Groups[1].Value.TrimEnd();
        Assert.Equal(label, fs.Label);

        var expected = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in Run("mattrib", "-/", "-i", image, "::/").StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int at = line.IndexOf("::/", StringComparison.Ordinal);
            string path = line[(at + 2)..];
            if (path == "/") continue;
            expected[path] = new string(line[..at].Where(char.IsLetter).Order().ToArray());
        }
        var actual = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in Walk(fs))
        {
            var a = item.Node.Attributes;
            string letters = (a.HasFlag(FsAttributes.Archive) ? "A" : "") + (a.HasFlag(FsAttributes.Hidden) ? "H" : "")
                + (a.HasFlag(FsAttributes.ReadOnly) ? "R" : "") + (a.HasFlag(FsAttributes.System) ? "S" : "");
            actual[item.Path] = letters;
        }
        AssertSameTree(expected, actual);
        Assert.Contains(Walk(fs), i => i.Node.Attributes.HasFlag(FsAttributes.Hidden | FsAttributes.System));
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Lookup_is_case_insensitive_on_long_and_short_names(string file)
    {
        string image = Image("fat-basic", file);
        using var opened = new Opened(image, exFat: false);
        var fs = opened.Fs;
        foreach (var item in Walk(fs).Where(i => !i.Path.StartsWith("/bigdir/") || i.Path.EndsWith("9.txt")))
        {
            Assert.Equal(item.Node.Id, fs.Lookup(item.ParentId, item.Name)?.Id);
            Assert.Equal(item.Node.Id, fs.Lookup(item.ParentId, item.Name.ToUpperInvariant())?.Id);
            Assert.Equal(item.Node.Id, fs.Lookup(item.ParentId, item.Name.ToLowerInvariant())?.Id);
        }
        Assert.Null(fs.Lookup(fs.RootId, "no such file.txt"));

        // mdir shows each long name beside its 8.3 alias; both must find the same node
        var row = new Regex(@"^(.{8}) (.{3}) +(?:<DIR>|[\d ]+) +\d{4}-\d\d-\d\d +\d+:\d\d  (.+)$");
        int aliases = 0;
        foreach (var line in Run("mdir", "-a", "-i", image, "::/").StdOut.Split('\n'))
        {
            if (row.Match(line) is not { Success: true } m) continue;
            string ext = m.Groups[2].Value.TrimEnd();
            string alias = m.Groups[1].Value.TrimEnd() + (ext.Length > 0 ? "." + ext : "");
            var byLong = fs.Lookup(fs.RootId, m.Groups[3].Value);
            Assert.True(byLong is not null, $"'{m.Groups[3].Value}' not found (mdir: {line})");
            Assert.True(byLong.Id == fs.Lookup(fs.RootId, alias)?.Id, $"alias '{alias}' of '{m.Groups[3].Value}' does not find it");
            aliases++;
        }
        Assert.True(aliases >= 5, $"only {aliases} long names in the root per mdir");
    }

    [Fact]
    public void Lower_case_8_3_names_and_fragmented_and_big_directories_are_there()
    {
        // what the image script made, as names a person would type
        using var opened = new Opened(Image("fat-basic", "fat16.img"), exFat: false);
        var fs = opened.Fs;
        var names = fs.List(fs.RootId).Select(e => e.Name).ToHashSet();
        Assert.Contains("lower.txt", names);
        Assert.Contains("base2.TXT", names);
        Assert.Contains("日本語のファイル名.txt", names);
        var bigdir = fs.Lookup(fs.RootId, "bigdir")!;
        Assert.Equal(3001, fs.List(bigdir.Id).Count());
        var frag = fs.Lookup(fs.Lookup(fs.RootId, "frag")!.Id, "BIGFRAG.BIN")!;
        Assert.Equal(300000, frag.Size);
    }
}
