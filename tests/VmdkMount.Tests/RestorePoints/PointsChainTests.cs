using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;
using VmdkMount.Core.Mounting.RestorePoints;
using VmdkMount.Tests.Infrastructure;
using Xunit;

namespace VmdkMount.Tests.RestorePoints;

/// <summary>
/// Restore points of six-point chains made by real tools (images/points-ext.sh: ext4 through the kernel, and
/// images/points-ext3.sh: the same on ext3, block-mapped files;
/// images/points-ntfs.sh: NTFS through ntfs-3g; images/points-fat.sh: FAT32 through mtools; images/points-exfat.sh:
/// exFAT through exfat-fuse; images/points-xfs.sh: XFS through the kernel), checked against an independent reader's
/// snapshot of every point:
/// `changed` for every pair of points, `versions` of files with known histories, `--at`.
/// </summary>
public sealed class PointsChainTests
{
    /// <summary>Newest first, as `info` indexes them.</summary>
    private static readonly string[] Points = ["child-005", "child-004", "child-003", "child-002", "child-001", "base"];

    private const string Ext = "points-ext";

    private static string Dir => TestImages.Get(Ext);

    private static string Disk => Path.Combine(Dir, "child-005.vmdk");

    private static PointManifest Manifest(int point, string image = Ext) =>
        PointManifest.Load(Path.Combine(TestImages.Get(image), $"manifest-{Points[point]}.tsv"));

    private static RestorePointSet Open(string image = Ext) =>
        RestorePointSet.Open(Path.Combine(TestImages.Get(image), "child-005.vmdk"), new DiskOpenOptions(), new FileSystemOptions());

    private static List<string> Lines(VolumeChanges v) =>
        v.Changes.Select(c => $"{c.Kind switch { ChangeKind.Added => "A", ChangeKind.Deleted => "D", _ => "M" }} {c.Path}").ToList();

    [Theory]
    [InlineData("points-ext")]
    [InlineData("points-ext3")]
    [InlineData("points-ntfs")]
    [InlineData("points-fat")]
    [InlineData("points-exfat")]
    [InlineData("points-xfs")]
    public void Changed_between_every_pair_of_points_is_the_snapshots_diff(string image)
    {
        using var points = Open(image);
        Assert.Equal(Points.Length, points.Count);
        for (int older = 0; older < Points.Length; older++)
            for (int newer = 0; newer <= older; newer++)
            {
                var volumes = TreeComparison.Compare(points, newer, older);
                var v = Assert.Single(volumes);
                Assert.Equal("p1", v.VolumeId);
                var expected = PointManifest.Diff(Manifest(older, image), Manifest(newer, image));
                Assert.True(expected.SequenceEqual(Lines(v)),
                    $"{Points[older]} -> {Points[newer]}:\nexpected:\n{string.Join('\n', expected)}\nactual:\n{string.Join('\n', Lines(v))}");
            }
    }

    [Fact]
    public void Changed_lists_the_known_changes_of_each_link()
    {
        using var points = Open();
        string Changes(int newer) => string.Join(", ", Lines(TreeComparison.Compare(points, newer, newer + 1)[0]));
        Assert.Equal("M /docs/doc.txt, M /log.txt, A /new.txt, M /same.bin, M /trunc.bin", Changes(4));
        Assert.Equal("D /del.txt, A /ren-new.txt, D /ren-old.txt", Changes(3));
        Assert.Equal("M /docs/doc.txt, M /recreate.txt, D /tree/a/b, D /tree/a/b/c.txt, D /tree/a/d.txt, A /tree/a/new.txt", Changes(2));
        Assert.Equal("M /link, M /mode.sh, A /newdir, A /newdir/sub, A /newdir/sub/file.txt", Changes(1));
        Assert.Equal("A /emptydir, D /new.txt", Changes(0));
    }

    [Fact]
    public void Changed_cli_shapes_human_nul_and_json()
    {
        var human = OurCli.Run("changed", Disk, "--since", "child-004.vmdk");
        Assert.Equal(0, human.ExitCode);
        Assert.Equal("A p1:/emptydir\nD p1:/new.txt\n", human.StdOut);
        var nul = OurCli.Run("changed", Disk, "--since", "base", "--until", "2", "-0");
        Assert.Equal(0, nul.ExitCode);
        var paths = nul.StdOut.Split('\0', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("p1:/tree/a/new.txt", paths);
        Assert.Contains("p1:/new.txt", paths);
        Assert.DoesNotContain("p1:/del.txt", paths);
        var json = OurCli.Run("changed", Disk, "--since", "1", "--json");
        using var doc = JsonDocument.Parse(json.StdOut);
        Assert.EndsWith("child-004.vmdk", doc.RootElement.GetProperty("from").GetString());
        Assert.EndsWith("child-005.vmdk", doc.RootElement.GetProperty("to").GetString());
        var v = doc.RootElement.GetProperty("volumes")[0];
        Assert.Equal("p1", v.GetProperty("id").GetString());
        var first = v.GetProperty("changes")[0];
        Assert.Equal("/emptydir", first.GetProperty("path").GetString());
        Assert.Equal("added", first.GetProperty("change").GetString());
        Assert.Equal("dir", first.GetProperty("type").GetString());
        var unknown = OurCli.Run("changed", Disk, "--since", "child-999.vmdk");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("file name", unknown.StdErr);
        Assert.Contains("index", unknown.StdErr);
    }

    [Theory]
    [InlineData("points-ext", "/docs/doc.txt")]
    [InlineData("points-ext", "/touched.txt")]
    [InlineData("points-ext", "/recreate.txt")]
    [InlineData("points-ext", "/new.txt")]
    [InlineData("points-ext", "/same.bin")]
    [InlineData("points-ext", "/keep/k3.txt")]
    [InlineData("points-ntfs", "/docs/doc.txt")]
    [InlineData("points-ntfs", "/touched.txt")]
    [InlineData("points-ntfs", "/recreate.txt")]
    [InlineData("points-ntfs", "/mode.sh")]
    [InlineData("points-ntfs", "/ren-new.txt")]
    [InlineData("points-xfs", "/docs/doc.txt")]
    [InlineData("points-xfs", "/touched.txt")]
    [InlineData("points-xfs", "/recreate.txt")]
    [InlineData("points-xfs", "/same.bin")]
    [InlineData("points-xfs", "/keep/k2.txt")]
    [InlineData("points-xfs", "/nodedir/node_entry_with_a_longer_name_500")]
    public void Versions_match_the_snapshots(string image, string path)
    {
        using var points = Open(image);
        var versions = VersionHistory.Of(points, new VolumePath("p1", path, null));
        var expected = Enumerable.Range(0, Points.Length).Where(i => Manifest(i, image).Entries.ContainsKey(path)).ToList();
        Assert.Equal(expected, versions.Select(v => v.Point).ToList());
        for (int k = 0; k < versions.Count; k++)
        {
            var entry = Manifest(versions[k].Point, image).Entries[path];
            Assert.Equal(entry.Size, versions[k].Node.Size);
            if (k == 0) Assert.Null(versions[k].Changed);
            else
            {
                var newer = Manifest(versions[k - 1].Point, image).Entries[path];
                Assert.Equal(newer.Sha256 != entry.Sha256 || newer.Mode != entry.Mode, versions[k].Changed);
            }
        }
    }

    [Fact]
    public void Versions_of_an_untouched_file_are_decided_from_the_allocation()
    {
        using var points = Open();
        var versions = VersionHistory.Of(points, new VolumePath("p1", "/big.bin", null));
        Assert.Equal(Points.Length, versions.Count);
        Assert.All(versions.Skip(1), v => Assert.Equal(SamenessEvidence.Allocation, v.By));
        Assert.All(versions.Skip(1), v => Assert.False(v.Changed));
    }

    [Fact]
    public void Versions_cli_json_and_hash()
    {
        var r = OurCli.Run("versions", Disk, "p1:/docs/doc.txt", "--json", "--hash");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.StdOut);
        var versions = doc.RootElement.GetProperty("versions");
        Assert.Equal(Points.Length, versions.GetArrayLength());
        for (int i = 0; i < Points.Length; i++)
        {
            Assert.Equal(i, versions[i].GetProperty("point").GetInt32());
            Assert.Equal(Points[i] + ".vmdk", versions[i].GetProperty("file").GetString());
            Assert.Equal(Manifest(i).Entries["/docs/doc.txt"].Sha256, versions[i].GetProperty("sha256").GetString());
        }
        Assert.Equal(2, OurCli.Run("versions", Disk, "p1:/no/such/file").ExitCode);
    }

    [Theory]
    [InlineData("points-ext")]
    [InlineData("points-ext3")]
    [InlineData("points-ntfs")]
    [InlineData("points-fat")]
    [InlineData("points-exfat")]
    [InlineData("points-xfs")]
    public void Each_point_reads_the_bytes_its_snapshot_holds(string image)
    {
        using var points = Open(image);
        for (int i = 0; i < Points.Length; i++)
        {
            var tree = new MountTree(points.Point(i), new MountTreeOptions { SingleVolume = "p1", Retention = NodeRetention.UntilPassed });
            foreach (var entry in Manifest(i, image).Entries.Values.Where(e => e.Type == "file"))
            {
                var inode = tree.Resolve(entry.Path) ?? throw new Xunit.Sdk.XunitException($"{Points[i]}: {entry.Path} missing");
                var bytes = new byte[inode.Node!.Size];
                for (int done = 0; done < bytes.Length;) done += tree.Read(inode, done, bytes.AsSpan(done));
                Assert.True(entry.Sha256 == Hashing.Sha256(bytes), $"{Points[i]}: {entry.Path}");
            }
        }
    }

    [Fact]
    public void At_reads_each_points_bytes_through_the_cli()
    {
        for (int i = 0; i < Points.Length; i++)
        {
            var r = OurCli.Run("cat", Disk, "p1:/docs/doc.txt", "--at", i % 2 == 0 ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : Points[i] + ".vmdk");
            Assert.Equal(0, r.ExitCode);
            Assert.Equal(Manifest(i).Entries["/docs/doc.txt"].Sha256, Hashing.Sha256(r.StdOutBytes));
        }
        var byPath = OurCli.Run("cat", Disk, "p1:/docs/doc.txt", "--at", Path.Combine(Dir, "base.vmdk"));
        Assert.Equal("doc v1\n", byPath.StdOut);
        var bad = OurCli.Run("cat", Disk, "p1:/docs/doc.txt", "--at", "17");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("restore point", bad.StdErr);
    }

    [Fact]
    public void Points_open_lazily_and_share_the_chain()
    {
        using var points = Open();
        var versions = VersionHistory.Of(points, new VolumePath("p1", "/docs/doc.txt", null));
        Assert.NotEmpty(versions);
        using var again = Open();
        _ = again.Point(3);
        Assert.Equal([false, false, false, true, false, false], Enumerable.Range(0, Points.Length).Select(again.IsOpen).ToArray());
        // A point's view holds the same link objects as the chain: nothing is reopened per point.
        var view = (Core.Disks.Vmdk.VmdkDisk)again.Point(3).Disk;
        Assert.Same(again.Chain.Links[3], view.Links[0]);
        Assert.Same(again.Chain.Links[5], view.Links[^1]);
    }
}
