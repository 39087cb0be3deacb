using System.Text.Json;
using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting.RestorePoints;
using VmdkMount.Tests.Infrastructure;
using Xunit;

namespace VmdkMount.Tests.RestorePoints;

/// <summary>
/// The fast path of `changed` (issue 15: the bytes that differ between two points mapped to the records and folders
/// that own them) proven against the full walk of both trees: on every chain the tests build and every pair of its
/// points the two answer exactly the same, through the engine and through the CLI (human, -0, JSON). The points
/// chains' links hold the cases (same-size overwrite in place, delete and re-create in one link with MFT
/// record reuse, a file rewritten with identical bytes, trees deleted and re-created); fuse-chain adds a FAT16 volume;
/// http-chain a block rewritten behind the kernel's back (debugfs, inode untouched), and points-fat's child-006 a
/// cluster rewritten behind mtools' back (directory entry and FAT untouched), which the fast path must notice and
/// fall back on.
/// </summary>
public sealed class LocatedChangesTests
{
    /// <summary>The points chains (six points, one volume, the fast path on every pair).</summary>
    public static TheoryData<string, bool> Chains => new()
    {
        { "points-ntfs", true },
        { "points-ext", true },
        { "points-ext3", true },
        { "points-fat", true },
        { "points-exfat", true },
        { "points-xfs", true },
    };

    /// <summary>Every chain a test builds (or ships): image (null: the demo chain in images/demo), newest link.</summary>
    public static TheoryData<string?, string> AllChains => new()
    {
        { "points-ntfs", "child-005.vmdk" },
        { "points-ext", "child-005.vmdk" },
        { "points-ext3", "child-005.vmdk" },
        { "points-fat", "child-006.vmdk" },
        { "points-exfat", "child-005.vmdk" },
        { "points-xfs", "child-005.vmdk" },
        { "fuse-chain", "child2.vmdk" },
        { "http-chain", "disk-000003.vmdk" },
        { null, "demo-000002.vmdk" },
    };

    private static string DiskOf(string image) => Path.Combine(TestImages.Get(image), "child-005.vmdk");

    private static string DiskOf(string? image, string link) =>
        Path.Combine(image is null ? Path.Combine(RepoPaths.Root, "images", "demo") : TestImages.Get(image), link);

    private static RestorePointSet Open(string image) => RestorePointSet.Open(DiskOf(image), new DiskOpenOptions(), new FileSystemOptions());

    /// <summary>
    /// Every volume of every chain, every pair of points: the fast path's answer is the full walk's. NTFS, ext, FAT,
    /// exFAT and XFS volumes take the fast path except where a link rewrote file data with its inode or directory entry
    /// left alone (http-chain's disk-000002, point 1, made by debugfs; points-fat's child-006, point 0, made by dd):
    /// there the volume is walked whole and a note says why. XFS finds the owner of such a block among its in-use
    /// inodes (points-xfs child-005, written by dd) and stays located.
    /// </summary>
    [Theory]
    [MemberData(nameof(AllChains))]
    public void Located_changes_equal_the_full_walk_on_every_chain(string? image, string link)
    {
        using var points = RestorePointSet.Open(DiskOf(image, link), new DiskOpenOptions(), new FileSystemOptions());
        int located = 0;
        for (int older = 1; older < points.Count; older++)
            for (int newer = 0; newer < older; newer++)
            {
                var full = TreeComparison.Compare(points, newer, older, full: true);
                var fast = TreeComparison.Compare(points, newer, older);
                Assert.Equal(full.Select(v => v.VolumeId), fast.Select(v => v.VolumeId));
                foreach (var (f, l) in full.Zip(fast))
                {
                    Assert.True(Lines(f).SequenceEqual(Lines(l)),
                        $"{link} {older} -> {newer} {f.VolumeId} ({l.Method}):\nfull:\n{string.Join('\n', Lines(f))}\nlocated:\n{string.Join('\n', Lines(l))}");
                    string kind = points.Point(newer).OpenFileSystem(l.VolumeId).Kind;
                    bool inPlaceWrite = (image == "http-chain" && newer <= 1 && older >= 2) || (image == "points-fat" && newer == 0);
                    if (kind is "ntfs" or "ext2" or "ext3" or "ext4" or "fat12" or "fat16" or "fat32" or "exfat" or "xfs" && !inPlaceWrite)
                    {
                        Assert.True(l.Method == "located", $"{link} {older} -> {newer} {l.VolumeId} fell back: {l.Note}");
                        located++;
                    }
                    else
                    {
                        Assert.Equal("tree", l.Method);
                        Assert.Contains(!inPlaceWrite ? "cannot map changed ranges" : image == "http-chain" ? "without an inode update" : "without a directory entry update", l.Note);
                    }
                }
            }
        Assert.True(located > 0);
    }

    private static List<string> Lines(VolumeChanges v) =>
        v.Changes.Select(c => $"{ChangeWord(c.Kind)} {c.Type} {c.Path}").ToList();

    private static string ChangeWord(ChangeKind kind) => kind switch { ChangeKind.Added => "A", ChangeKind.Deleted => "D", _ => "M" };

    [Theory]
    [MemberData(nameof(Chains))]
    public void Located_changes_equal_the_full_walk_for_every_pair_of_points(string image, bool fast)
    {
        using var points = Open(image);
        for (int older = 0; older < points.Count; older++)
            for (int newer = 0; newer <= older; newer++)
            {
                var full = Assert.Single(TreeComparison.Compare(points, newer, older, full: true));
                var located = Assert.Single(TreeComparison.Compare(points, newer, older));
                Assert.Equal("tree", full.Method);
                Assert.Null(full.Note);
                Assert.True(Lines(full).SequenceEqual(Lines(located)),
                    $"{image} {older} -> {newer} ({located.Method}):\nfull:\n{string.Join('\n', Lines(full))}\nlocated:\n{string.Join('\n', Lines(located))}");
                if (fast)
                {
                    Assert.True(located.Method == "located", $"{image} {older} -> {newer} fell back: {located.Note}");
                    Assert.Null(located.Note);
                }
                else
                {
                    Assert.Equal("tree", located.Method);
                    Assert.NotNull(located.Note);
                }
            }
    }

    /// <summary>
    /// A case-only rename on NTFS (child-005: case.txt to Case.txt): the fast path looks up only the names that may
    /// differ, and NTFS lookups ignore case, so each name must be looked up only where the listing shows it exactly.
    /// </summary>
    [Fact]
    public void Located_changes_keep_a_case_only_rename_apart()
    {
        using var points = Open("points-ntfs");
        var v = Assert.Single(TreeComparison.Compare(points, 0, 1));
        Assert.Equal("located", v.Method);
        Assert.Contains("A File /Case.txt", Lines(v));
        Assert.Contains("D File /case.txt", Lines(v));
    }

    /// <summary>The cost follows what changed: a link that adds one empty folder and deletes one file visits two folders, not the tree (NTFS, FAT32, exFAT).</summary>
    [Theory]
    [InlineData("points-ntfs")]
    [InlineData("points-fat")]
    [InlineData("points-exfat")]
    public void Located_changes_visit_only_the_folders_that_changed(string image)
    {
        using var points = Open(image);
        long Folders(bool full)
        {
            long folders = 0;
            TreeComparison.Compare(points, 0, 1, progress: new InlineProgress(x => folders = x.Folders), full: full);
            return folders;
        }
        long all = Folders(full: true), located = Folders(full: false);
        Assert.Equal(2, located); // the root and the new emptydir
        Assert.True(all >= 4 * located, $"the full walk visited {all} folders");
    }

    /// <summary>
    /// XFS, child-005: an empty folder added, a file deleted, and keep/k2.txt's data block rewritten with its inode
    /// left alone (dd): the block's owner is found among the in-use inodes, so only the root, emptydir and keep are visited.
    /// </summary>
    [Fact]
    public void Located_changes_on_xfs_find_a_block_rewritten_behind_the_inode()
    {
        using var points = Open("points-xfs");
        long Folders(bool full)
        {
            long folders = 0;
            TreeComparison.Compare(points, 0, 1, progress: new InlineProgress(x => folders = x.Folders), full: full);
            return folders;
        }
        var v = Assert.Single(TreeComparison.Compare(points, 0, 1));
        Assert.Equal("located", v.Method);
        Assert.Equal(["A Directory /emptydir", "M File /keep/k2.txt", "D File /new.txt"], Lines(v));
        long all = Folders(full: true), located = Folders(full: false);
        Assert.Equal(3, located);
        Assert.True(all > 3 * located, $"the full walk visited {all} folders");
    }

    [Theory]
    [MemberData(nameof(Chains))]
    public void Changed_cli_answers_the_same_with_and_without_full(string image, bool fast)
    {
        string disk = DiskOf(image);
        foreach (var (since, until) in new[] { ("base", "0"), ("1", "0"), ("child-001.vmdk", "child-002.vmdk"), ("base", "child-003.vmdk"), ("4", "2") })
        {
            string[] pair = ["changed", disk, "--since", since, "--until", until];
            string[] With(params string[] extra) => [.. pair, .. extra];
            var human = OurCli.Run(pair);
            var humanFull = OurCli.Run(With("--full"));
            Assert.Equal(0, human.ExitCode);
            Assert.Equal(0, humanFull.ExitCode);
            Assert.Equal(humanFull.StdOut, human.StdOut);
            Assert.DoesNotContain("walking both trees", humanFull.StdErr);
            Assert.Equal(!fast, human.StdErr.Contains("compared by walking both trees whole", StringComparison.Ordinal));
            Assert.Equal(OurCli.Run(With("-0", "--full")).StdOut, OurCli.Run(With("-0")).StdOut);
            using var json = JsonDocument.Parse(OurCli.Run(With("--json")).StdOut);
            using var jsonFull = JsonDocument.Parse(OurCli.Run(With("--json", "--full")).StdOut);
            var v = json.RootElement.GetProperty("volumes")[0];
            var vFull = jsonFull.RootElement.GetProperty("volumes")[0];
            Assert.Equal(vFull.GetProperty("changes").GetRawText(), v.GetProperty("changes").GetRawText());
            Assert.Equal("tree", vFull.GetProperty("method").GetString());
            Assert.Equal(fast ? "located" : "tree", v.GetProperty("method").GetString());
            Assert.Equal(0, jsonFull.RootElement.GetProperty("warnings").GetArrayLength());
            var warnings = json.RootElement.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()!).ToList();
            if (fast) Assert.Empty(warnings);
            else Assert.Contains(warnings, w => w.StartsWith("p1: compared by walking both trees whole", StringComparison.Ordinal));
        }
    }

    /// <summary>A volume that falls back says so: on stderr in text mode, in the JSON's warnings; --full says nothing (it was asked for).</summary>
    [Theory]
    [InlineData("points-fat", "child-006.vmdk", "p1", "that no differing directory entry explains: data rewritten in place without a directory entry update")]
    [InlineData("http-chain", "disk-000003.vmdk", "p1", "that no differing inode explains: data rewritten in place without an inode update")]
    public void A_volume_walked_whole_is_named_with_the_reason(string image, string link, string volume, string reason)
    {
        string[] args = ["changed", DiskOf(image, link), "--since", "2", "--until", "0"];
        string[] With(params string[] extra) => [.. args, .. extra];
        var human = OurCli.Run(args);
        Assert.Equal(0, human.ExitCode);
        Assert.Contains($"vmdkmount: {volume}: compared by walking both trees whole (slow), not from the changed ranges: ", human.StdErr);
        Assert.Contains(reason, human.StdErr);
        var full = OurCli.Run(With("--full"));
        Assert.Equal(full.StdOut, human.StdOut);
        Assert.DoesNotContain("walking both trees", full.StdErr);
        using var json = JsonDocument.Parse(OurCli.Run(With("--json")).StdOut);
        var warnings = json.RootElement.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()!).ToList();
        Assert.Contains(warnings, w => w.StartsWith($"{volume}: compared by walking both trees whole", StringComparison.Ordinal) && w.Contains(reason, StringComparison.Ordinal));
        var v = json.RootElement.GetProperty("volumes").EnumerateArray().Single(x => x.GetProperty("id").GetString() == volume);
        Assert.Equal("tree", v.GetProperty("method").GetString());
    }

    private sealed class InlineProgress(Action<ComparisonProgress> report) : IProgress<ComparisonProgress>
    {
        public void Report(ComparisonProgress value) => report(value);
    }
}
