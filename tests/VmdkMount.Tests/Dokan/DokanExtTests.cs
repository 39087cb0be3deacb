using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using VmdkMount.Core.FileSystems;
using VmdkMount.Dokan;
using VmdkMount.Tests.Infrastructure;
using Xunit;

namespace VmdkMount.Tests.Dokan;

/// <summary>
/// The Dokan adapter over images/dokan-ext.sh's ext4 image (mke2fs -d): Windows' case rules on a case-sensitive
/// volume, hidden dot names, names Windows cannot hold, links, wildcards. The oracle is ext.manifest (find -printf
/// over the tree the image was made from) and debugfs for file contents.
/// </summary>
public sealed class DokanExtTests : IDisposable
{
    private readonly DokanImages _m = DokanImages.ExtOnly();
    private DokanHarness D => _m.Dokan;

    public void Dispose() => _m.Dispose();

    /// <summary>(path, type, size, mtime seconds as find prints them).</summary>
    private static List<(string Path, char Type, long Size, decimal Mtime)> Manifest() =>
        File.ReadAllLines(DokanImages.ExtManifest).Select(l => l.Split('\t'))
            .Select(f => (f[0], f[1][0], long.Parse(f[2], CultureInfo.InvariantCulture), decimal.Parse(f[3], CultureInfo.InvariantCulture))).ToList();

    private static string Text(byte[] b) => Encoding.UTF8.GetString(b);

    [Fact]
    public void Folder_listing_is_the_manifest_less_names_windows_cannot_hold()
    {
        var expected = Manifest().Where(e => e.Path.StartsWith("docs/", StringComparison.Ordinal) && !e.Path[5..].Contains('/'))
            .Select(e => e.Path[5..]).Where(n => n.IndexOfAny([':', '*']) < 0).Order(StringComparer.Ordinal).ToList();
        Assert.Contains("Only.TXT", expected);
        var names = D.Names(@"\docs");
        Assert.Equal([".", ".."], names.Take(2));
        Assert.Equal(expected, names.Skip(2).Order(StringComparer.Ordinal).ToList());
        Assert.Equal(NtStatus.ObjectNameNotFound, D.Probe(@"\docs\a:b.txt")); // the stream "b.txt" of a file that is not there
    }

    [Fact]
    public void Sizes_and_write_times_match_the_manifest()
    {
        Assert.Equal(NtStatus.Success, D.List(@"\docs", null, out var entries));
        foreach (var e in Manifest().Where(e => e.Type == 'f' && e.Path.StartsWith("docs/", StringComparison.Ordinal) && e.Path.IndexOfAny([':', '*']) < 0 && !e.Path[5..].Contains('/')))
        {
            var entry = entries.Single(x => x.Name == e.Path[5..]);
            Assert.Equal(e.Size, entry.Size);
            // mke2fs -d keeps whole seconds (debugfs shows the extra-time fields as 0)
            long ticks = (long)decimal.Floor(e.Mtime) * 10_000_000 + VmdkMount.Dokan.Native.FileTime.UnixEpochTicks;
            Assert.Equal(ticks, entry.Written);
        }
        // the time the script set (2020-01-02 03:04:05 UTC, to the second), and creation at E2FSPROGS_FAKE_TIME
        var only = entries.Single(x => x.Name == "Only.TXT");
        Assert.Equal(new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc).ToFileTimeUtc(), only.Written);
        Assert.Equal(new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc).ToFileTimeUtc(), only.Accessed);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1764000000).UtcDateTime.ToFileTimeUtc(), only.Created);
    }

    [Fact]
    public void Exact_case_first_then_the_one_name_that_differs_only_in_case()
    {
        Assert.Equal("upper\n", Text(D.ReadAll(@"\docs\Case.txt")));
        Assert.Equal("lower\n", Text(D.ReadAll(@"\docs\case.txt")));
        Assert.Equal(NtStatus.ObjectNameNotFound, D.Probe(@"\docs\CASE.TXT")); // two candidates: no guess
        Assert.Equal(NtStatus.ObjectNameNotFound, D.Probe(@"\docs\CASE.TXT")); // (now from the negative cache)
        Assert.Equal("upper\n", Text(D.ReadAll(@"\docs\Case.txt"))); // a remembered miss is that spelling's only
        Assert.Equal("only\n", Text(D.ReadAll(@"\DOCS\only.txt")));
        Assert.Equal("nested\n", Text(D.ReadAll(@"\Docs\SUB\Nested.TXT")));
        Assert.Equal("nested\n", Text(D.ReadAll(@"\\?\docs\sub\\nested.txt")));
    }

    [Fact]
    public void Dot_names_are_hidden_files_are_read_only_folders_are_not()
    {
        Assert.Equal(NtStatus.Success, D.List(@"\", null, out var root));
        var a = root.ToDictionary(e => e.Name, e => e.Attributes);
        Assert.Equal(DokanAttributes.ReadOnly | DokanAttributes.Hidden, a[".profile"]);
        Assert.Equal(DokanAttributes.Directory | DokanAttributes.Hidden, a[".config"]);
        Assert.Equal(DokanAttributes.ReadOnly, a["big.bin"]);
        Assert.Equal(DokanAttributes.Directory, a["docs"]);
        Assert.Equal(DokanAttributes.Directory, a["empty"]);
    }

    [Fact]
    public void Links_stay_inside_the_volume()
    {
        Assert.Equal("nested\n", Text(D.ReadAll(@"\sublink\nested.txt")));
        Assert.Equal(NtStatus.Success, D.Info(@"\sublink", out var sub));
        Assert.Equal(DokanAttributes.Directory, sub.FileAttributes);
        Assert.Equal("only\n", Text(D.ReadAll(@"\.config\onlylink")));
        // /etc/passwd, ../../../../outside, a dangling and a looping link: plain empty files, never followed out
        foreach (var name in new[] { "abs_out", "climb", "dangling", "loop1" })
        {
            Assert.Equal(NtStatus.Success, D.Info(@"\" + name, out var info));
            Assert.Equal(DokanAttributes.ReadOnly, info.FileAttributes);
            Assert.Equal(0u, info.FileSizeLow);
            Assert.Empty(D.ReadAll(@"\" + name));
        }
    }

    [Fact]
    public void A_long_read_matches_debugfs_and_keeps_the_request_alive()
    {
        var expected = Tool.Run("debugfs", ["-R", "cat /big.bin", DokanImages.Ext]).StdOutBytes;
        Assert.Equal(3000000, expected.Length);
        using var slow = DokanImages.ExtOnly(new DokanAdapterOptions { KeepAliveAfter = TimeSpan.Zero, ReadChunk = 64 * 1024, KeepAliveMilliseconds = 1234 });
        var all = slow.Dokan.ReadAll(@"\big.bin", request: 3000000);
        Assert.Equal(SHA256.HashData(expected), SHA256.HashData(all));
        Assert.Equal((3000000 + 65535) / 65536 - 1, slow.Native.ResetTimeouts); // between pieces, not after the last
        Assert.Equal(1234u, slow.Native.LastResetMilliseconds);
        // a read that is quick keeps no request alive
        Assert.Equal(SHA256.HashData(expected), SHA256.HashData(D.ReadAll(@"\big.bin", request: 3000000)));
        Assert.Equal(0, _m.Native.ResetTimeouts);
    }

    [Fact]
    public void Offline_marks_files_of_remote_mounts_only_when_asked()
    {
        using var remote = DokanImages.ExtOnly(new DokanAdapterOptions { OfflineFiles = true });
        Assert.Equal(NtStatus.Success, remote.Dokan.List(@"\docs", null, out var entries));
        Assert.All(entries, e => Assert.Equal((e.Attributes & DokanAttributes.Directory) == 0, (e.Attributes & DokanAttributes.Offline) != 0));
        Assert.Contains(entries, e => (e.Attributes & DokanAttributes.Offline) != 0);
        Assert.Equal(NtStatus.Success, D.List(@"\docs", null, out entries));
        Assert.All(entries, e => Assert.Equal(0u, e.Attributes & DokanAttributes.Offline));
    }

    [Fact]
    public void Volume_information_of_an_ext_volume_has_no_streams()
    {
        Assert.Equal(NtStatus.Success, D.Volume(out _, out uint serial, out _, out uint flags, out string fs));
        Assert.Equal(0u, flags & DokanAdapter.NamedStreams);
        Assert.NotEqual(0u, flags & DokanAdapter.ReadOnlyVolume);
        Assert.Equal("NTFS", fs);
        using var again = DokanImages.ExtOnly();
        Assert.Equal(NtStatus.Success, again.Dokan.Volume(out _, out uint serial2, out _, out _, out _));
        Assert.Equal(serial, serial2); // stable across mounts of the same backup
        Assert.Equal(NtStatus.EndOfFile, D.Streams(@"\docs", out _));
        Assert.Equal(NtStatus.Success, D.Streams(@"\big.bin", out var streams));
        Assert.Equal([("::$DATA", 3000000L)], streams);
    }

    [Theory]
    [InlineData("*", null)]
    [InlineData("*.*", @"^.*\..*$")]
    [InlineData("*.log", @"^.*\.log$")]
    [InlineData("FILE1*.LOG", @"^file1.*\.log$")]
    [InlineData("file?.log", @"^file.\.log$")]
    [InlineData("file>.log", @"^file.?\.log$")]
    [InlineData("*.txt", @"^.*\.txt$")]
    [InlineData("<.gz", @"^.*\.gz$")]
    [InlineData("<\"", @"^([^.]*|\.|\.\.)$")]
    [InlineData("<.tar.gz", @"^.*\.tar\.gz$")]
    [InlineData("archive\"tar.gz", @"^archive\.tar\.gz$")]
    [InlineData("nothing*", @"^nothing")]
    public void FindFilesWithPattern_matches_as_FsRtlIsNameInExpression(string pattern, string? regex)
    {
        // Expected: the manifest's names (and "." ".."), filtered by an independent regular expression for the pattern.
        var all = new[] { ".", ".." }.Concat(Manifest().Where(e => e.Path.StartsWith("docs/", StringComparison.Ordinal) && !e.Path[5..].Contains('/'))
            .Select(e => e.Path[5..]).Where(n => n.IndexOfAny([':', '*']) < 0));
        var expected = all.Where(n => regex is null || System.Text.RegularExpressions.Regex.IsMatch(n, regex, System.Text.RegularExpressions.RegexOptions.IgnoreCase))
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, D.Names(@"\docs", pattern).Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public void A_folder_whose_name_is_listed_as_a_file_is_not_a_directory()
    {
        Assert.Equal(NtStatus.NotADirectory, D.List(@"\big.bin", "*", out _));
        Assert.Equal(NtStatus.ObjectNameNotFound, D.List(@"\nodir", "*", out _));
    }

    /// <summary>Counts what the adapter asks the reader, so the negative cache is seen to spare it.</summary>
    private sealed class CountingReader(IFileSystem inner) : IFileSystem, ISymlinkReader
    {
        public int Lookups;
        public int Lists;
        public string Kind => inner.Kind;
        public string? Label => inner.Label;
        public long RootId => inner.RootId;
        public IReadOnlyList<string> Warnings => inner.Warnings;
        public FsNode? Lookup(long directoryId, string name) { Interlocked.Increment(ref Lookups); return inner.Lookup(directoryId, name); }
        public IEnumerable<FsDirEntry> List(long directoryId) { Interlocked.Increment(ref Lists); return inner.List(directoryId); }
        public FsNode Stat(long id) => inner.Stat(id);
        public int Read(long id, long offset, Span<byte> destination) => inner.Read(id, offset, destination);
        public string ReadLink(long id) => ((ISymlinkReader)inner).ReadLink(id);
        public void Dispose() { }
    }

    [Fact]
    public void Shell_probes_that_missed_are_answered_from_the_negative_cache()
    {
        CountingReader? reader = null;
        using var m = DokanImages.ExtOnly(wrap: fs => reader = new CountingReader(fs));
        for (int i = 0; i < 5; i++)
            foreach (var probe in new[] { @"\docs\desktop.ini", @"\docs\Thumbs.db", @"\docs\AUTORUN.INF", @"\docs\folder.jpg", @"\docs\nosuch.txt" })
                Assert.Equal(NtStatus.ObjectNameNotFound, m.Dokan.Probe(probe));
        int lookups = reader!.Lookups;
        // per probe: one lookup of "docs" and one of the name the first time; later rounds only "docs" (its lookup is the reader's)
        Assert.True(lookups <= 5 + 5 * 5, $"{lookups} lookups");
        int before = reader.Lookups;
        m.Dokan.Probe(@"\docs\desktop.ini");
        Assert.Equal(before + 1, reader.Lookups); // "docs" only: the miss came from the cache
        Assert.Equal("only\n", Text(m.Dokan.ReadAll(@"\docs\Only.TXT"))); // present names are unaffected
    }

    [Fact]
    public void Closed_files_are_let_go_so_a_scan_does_not_grow_the_tree()
    {
        D.ReadAll(@"\docs\file1.log");
        int before = _m.Tree.Count;
        for (int round = 0; round < 3; round++)
            for (int i = 1; i <= 12; i++)
                Assert.Equal($"{i}\n", Text(D.ReadAll($@"\docs\file{i}.log")));
        Assert.Equal(before, _m.Tree.Count);
        // the file index stays the file's while its node is made again
        Assert.Equal(NtStatus.Success, D.Info(@"\docs\file3.log", out var first));
        Assert.Equal(NtStatus.Success, D.Info(@"\docs\file3.log", out var second));
        Assert.Equal((first.FileIndexHigh, first.FileIndexLow), (second.FileIndexHigh, second.FileIndexLow));
        using var two = new DokanImages([("p1", DokanImages.Ntfs, "ntfs"), ("p2", DokanImages.Ext, "ext4")]);
        Assert.Equal(NtStatus.Success, two.Dokan.Info(@"\p2\docs\file3.log", out var a));
        Assert.Equal(NtStatus.Success, two.Dokan.Info(@"\p2\docs\file3.log", out var b));
        Assert.Equal((a.FileIndexHigh, a.FileIndexLow), (b.FileIndexHigh, b.FileIndexLow));
        Assert.Equal(2u << 16, a.FileIndexHigh & 0xFFFF0000); // volume 2's ids
        Assert.Equal(first.FileIndexLow, a.FileIndexLow);
    }

    [Fact]
    public void The_negative_cache_is_bounded_per_folder_and_in_folders()
    {
        using var m = DokanImages.ExtOnly(new DokanAdapterOptions { NegativeCacheFolders = 2, NegativeCacheNamesPerFolder = 3 });
        foreach (var folder in new[] { @"\docs", @"\docs\sub", @"\empty" })
            for (int i = 0; i < 10; i++) m.Dokan.Probe($@"{folder}\missing{i}.txt");
        Assert.Equal(2, m.Adapter.Lookup.Misses.Folders);
        var docsSub = FolderKey.Of(m.Tree.Resolve("/docs/sub")!);
        Assert.False(m.Adapter.Lookup.Misses.IsKnownMissing(docsSub, "missing9.txt")); // over the 3 names of a folder
        Assert.True(m.Adapter.Lookup.Misses.IsKnownMissing(docsSub, "missing0.txt"));
        m.Dokan.Probe(@"\docs\sub\desktop.ini"); // a shell probe displaces an ordinary miss when the folder is full
        Assert.True(m.Adapter.Lookup.Misses.IsKnownMissing(docsSub, "desktop.ini"));
    }
}
