using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting.RestorePoints;
using VmdkMount.Tests.Infrastructure;
using VmdkMount.Tests.Vmdk.Writers;
using Xunit;

namespace VmdkMount.Tests.RestorePoints;

/// <summary>
/// The fast path of `changed` over links that are not qemu's (issue 15 asks for COWD and SEsparse links too; no tool
/// writes them, so they come from the test writers TestWriterProofTests holds to qemu's reading): points-fat's chain
/// with child-004 remade as a COWD link (64 KiB grains) and child-005 as an SEsparse link (4 KiB grains), each holding
/// exactly the grains where qemu reads that point differently from its parent. Every pair of points answers what the
/// full walk answers and what the mtools snapshots' diff says, through the fast path.
/// </summary>
public sealed class DeltaLinkPointsTests
{
    private static readonly string[] Points = ["child-005", "child-004", "child-003", "child-002", "child-001", "base"];

    [Fact]
    public void Changed_over_cowd_and_sesparse_links_is_the_full_walk_and_the_snapshots_diff()
    {
        string images = TestImages.Get("points-fat");
        string dir = Path.Combine(Path.GetTempPath(), "vmdkmount-delta-points-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            foreach (var link in Points[2..]) File.Copy(Path.Combine(images, link + ".vmdk"), Path.Combine(dir, link + ".vmdk"));
            var p3 = Raw(images, dir, "child-003");
            var p4 = Raw(images, dir, "child-004");
            var p5 = Raw(images, dir, "child-005");
            long sectors = p3.Length / 512;

            const int cowdGrainSectors = 128;
            var cowd = new CowdWriter((uint)sectors, cowdGrainSectors);
            int cowdGrains = 0;
            foreach (long g in DifferingGrains(p3, p4, cowd.GrainBytes))
            {
                cowd.AddGrain(g, p4.AsSpan((int)(g * cowd.GrainBytes), cowd.GrainBytes).ToArray());
                cowdGrains++;
            }
            cowd.Write(Path.Combine(dir, "child-004-delta.vmdk"));
            File.WriteAllText(Path.Combine(dir, "child-004.vmdk"), CowdWriter.Descriptor("child-004-delta.vmdk", sectors, 0x10000004,
                DeltaChainBuilder.ReadCid(Path.Combine(dir, "child-003.vmdk")), "child-003.vmdk"));

            var se = new SeSparseWriter(sectors);
            int seGrains = 0;
            foreach (long g in DifferingGrains(p4, p5, SeSparseWriter.GrainBytes))
                se.AddData(g, p5.AsSpan((int)(g * SeSparseWriter.GrainBytes), SeSparseWriter.GrainBytes).ToArray(), seGrains++);
            se.Write(Path.Combine(dir, "child-005-sesparse.vmdk"));
            File.WriteAllText(Path.Combine(dir, "child-005.vmdk"), SeSparseWriter.Descriptor("child-005-sesparse.vmdk", sectors, 0x20000005, 0x10000004, "child-004.vmdk"));
            Assert.True(cowdGrains > 0 && seGrains > 0);

            using var points = RestorePointSet.Open(Path.Combine(dir, "child-005.vmdk"), new DiskOpenOptions(), new FileSystemOptions());
            Assert.Equal(Points.Length, points.Count);
            for (int older = 1; older < Points.Length; older++)
                for (int newer = 0; newer < older; newer++)
                {
                    var full = Assert.Single(TreeComparison.Compare(points, newer, older, full: true));
                    var fast = Assert.Single(TreeComparison.Compare(points, newer, older));
                    Assert.True(fast.Method == "located", $"{Points[older]} -> {Points[newer]} fell back: {fast.Note}");
                    var expected = PointManifest.Diff(Manifest(images, older), Manifest(images, newer));
                    Assert.True(expected.SequenceEqual(Lines(full)) && expected.SequenceEqual(Lines(fast)),
                        $"{Points[older]} -> {Points[newer]}:\nexpected:\n{string.Join('\n', expected)}\nfull:\n{string.Join('\n', Lines(full))}\nlocated:\n{string.Join('\n', Lines(fast))}");
                }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The whole disk of a point as qemu reads it (the independent reader of the links made here).</summary>
    private static byte[] Raw(string images, string dir, string link)
    {
        string raw = Path.Combine(dir, link + ".raw");
        Tool.Run("qemu-img", ["convert", "-q", "-f", "vmdk", "-O", "raw", Path.Combine(images, link + ".vmdk"), raw]);
        var bytes = File.ReadAllBytes(raw);
        File.Delete(raw);
        return bytes;
    }

    private static IEnumerable<long> DifferingGrains(byte[] parent, byte[] child, int grainBytes)
    {
        for (long g = 0; g * grainBytes < child.Length; g++)
        {
            int at = (int)(g * grainBytes), n = Math.Min(grainBytes, child.Length - at);
            if (!parent.AsSpan(at, n).SequenceEqual(child.AsSpan(at, n))) yield return g;
        }
    }

    private static PointManifest Manifest(string images, int point) => PointManifest.Load(Path.Combine(images, $"manifest-{Points[point]}.tsv"));

    private static List<string> Lines(VolumeChanges v) =>
        v.Changes.Select(c => $"{c.Kind switch { ChangeKind.Added => "A", ChangeKind.Deleted => "D", _ => "M" }} {c.Path}").ToList();
}
