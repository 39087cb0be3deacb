using VmdkMount.Tests.Fuse;
using VmdkMount.Tests.Infrastructure;
using Xunit;

namespace VmdkMount.Tests.RestorePoints;

/// <summary>`vmdkmount mount DISK MNT --restore-points` on the six-point ext4 chain: one folder per point, each point's bytes as the kernel read them.</summary>
[Collection(KernelCacheTests.Collection)]
public sealed class PointsMountTests
{
    private static readonly string[] Points = ["child-005", "child-004", "child-003", "child-002", "child-001", "base"];

    [Fact]
    public void Restore_points_mount_lists_every_point_and_reads_each_as_the_kernel_did()
    {
        string dir = TestImages.Get("points-ext");
        string scratch = Directory.CreateTempSubdirectory("vmdk-points-mnt-").FullName;
        try
        {
            using var mount = new CliMount(Path.Combine(dir, "child-005.vmdk"), Path.Combine(scratch, "mnt"), Path.Combine(scratch, "state"), "--restore-points");
            var listed = Directory.GetDirectories(mount.MountPoint).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(Points.Order(StringComparer.Ordinal).ToList(), listed);
            for (int i = 0; i < Points.Length; i++)
            {
                var manifest = PointManifest.Load(Path.Combine(dir, $"manifest-{Points[i]}.tsv"));
                foreach (var entry in manifest.Entries.Values.Where(e => e.Type == "file" && !e.Path.StartsWith("/keep/", StringComparison.Ordinal)))
                    Assert.True(entry.Sha256 == Hashing.Sha256File(Path.Combine(mount.MountPoint, Points[i], "p1", entry.Path.TrimStart('/'))), $"{Points[i]}: {entry.Path}");
                Assert.Equal(manifest.Entries.Keys.Where(k => k.LastIndexOf('/') == 0).Order(StringComparer.Ordinal).ToList(),
                    Directory.EnumerateFileSystemEntries(Path.Combine(mount.MountPoint, Points[i], "p1")).Select(p => "/" + Path.GetFileName(p)).Order(StringComparer.Ordinal).ToList());
            }
            // The link re-pointed in child-004 reads through, in each point, what that point's target holds.
            Assert.Equal("keep 1\n", File.ReadAllText(Path.Combine(mount.MountPoint, "child-005", "p1", "link")));
            Assert.Equal("doc v2\n", File.ReadAllText(Path.Combine(mount.MountPoint, "child-002", "p1", "link")));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}
