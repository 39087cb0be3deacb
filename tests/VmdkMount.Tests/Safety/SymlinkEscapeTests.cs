using System.Text.Json;
using VmdkMount.Core.Mounting;
using VmdkMount.Tests.Fuse;
using VmdkMount.Tests.Infrastructure;
using Xunit;

namespace VmdkMount.Tests.Safety;

/// <summary>
/// Hostile symlink targets (images/hostile-links.sh: mke2fs -d and debugfs) never resolve outside the mount or the
/// volume: read through a real FUSE mount and through `ls --json`.
/// </summary>
public class SymlinkEscapeTests
{
    private static readonly string[] Links = ["abs_up", "a/b/rel_up", "toroot", "through", "a/b/hl", "a/b/c/hl2"];

    [Fact]
    public void The_image_has_the_shape_the_tests_are_about()
    {
        string listing = File.ReadAllText(Path.Combine(TestImages.Get("hostile-links"), "links.listing"));
        Assert.Contains("hl2", listing);
        Assert.Contains("120777 (7)", listing);
    }

    [Fact]
    public void The_ext_reader_returns_targets_as_stored_and_leaves_confinement_to_the_frontends()
    {
        // The reader cannot know the place a link is reached from (hl and hl2 are one inode at two depths), so it
        // must not clamp: a clamp for one place would be wrong for the other.
        using var disk = Core.Disks.DiskOpener.Open(Path.Combine(TestImages.Get("hostile-links"), "links.vmdk"));
        using (var fs = Core.FileSystems.FormatRegistry.Default.Open("ext4", disk, "links"))
        {
            var a = fs.Lookup(fs.RootId, "a")!;
            var b = fs.Lookup(a.Id, "b")!;
            Assert.Equal("../../../../../../etc/shadow", fs.Links().ReadLink(fs.Lookup(b.Id, "rel_up")!.Id));
            Assert.Equal("/../../../../etc/passwd", fs.Links().ReadLink(fs.Lookup(fs.RootId, "abs_up")!.Id));
            Assert.Equal("toroot/../../../../etc/passwd", fs.Links().ReadLink(fs.Lookup(fs.RootId, "through")!.Id));
            var hl = fs.Lookup(b.Id, "hl")!;
            var hl2 = fs.Lookup(fs.Lookup(b.Id, "c")!.Id, "hl2")!;
            Assert.Equal(hl.Id, hl2.Id);
            Assert.Equal("../x", fs.Links().ReadLink(hl2.Id));
            Assert.Equal("../x", fs.Links().ReadLink(hl.Id));
        }
    }

    [Fact]
    public void Every_link_in_a_mount_resolves_inside_it_and_each_place_of_a_hard_linked_symlink_answers_for_itself()
    {
        string images = TestImages.Get("hostile-links");
        string scratch = RepoPaths.NewScratch("symlink-escape");
        try
        {
            string hostPasswd = File.ReadAllText("/etc/passwd");
            using var m = new CliMount(Path.Combine(images, "links.vmdk"), Path.Combine(scratch, "mnt"), Path.Combine(scratch, "state"));
            string root = Path.Combine(m.MountPoint, "disk");
            foreach (var link in Links)
            {
                string path = Path.Combine(root, link);
                Assert.True(new FileInfo(path).LinkTarget is not null, $"{link} is not a symlink in the mount");
                string resolved = Tool.Bash($"readlink -f '{path}'").StdOut.Trim();
                Assert.True(resolved == m.MountPoint || resolved.StartsWith(m.MountPoint + "/", StringComparison.Ordinal),
                    $"{link} resolves to {resolved}, outside {m.MountPoint}");
            }
            Assert.Equal("volume-passwd\n", File.ReadAllText(Path.Combine(root, "abs_up")));
            Assert.Equal("volume-shadow\n", File.ReadAllText(Path.Combine(root, "a/b/rel_up")));
            Assert.Equal("volume-passwd\n", File.ReadAllText(Path.Combine(root, "through")));
            Assert.NotEqual(hostPasswd, File.ReadAllText(Path.Combine(root, "through")));
            Assert.Equal("ax\n", File.ReadAllText(Path.Combine(root, "a/b/hl")));
            Assert.Equal("abx\n", File.ReadAllText(Path.Combine(root, "a/b/c/hl2")));
            Assert.Equal("../x", new FileInfo(Path.Combine(root, "a/b/hl")).LinkTarget);
            Assert.Equal("../x", new FileInfo(Path.Combine(root, "a/b/c/hl2")).LinkTarget);
            Assert.Equal("../../etc/shadow", new FileInfo(Path.Combine(root, "a/b/rel_up")).LinkTarget);
            Assert.Equal(Path.Combine(root, "etc/passwd"), new FileInfo(Path.Combine(root, "abs_up")).LinkTarget);
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public void Ls_shows_targets_confined_to_the_volume()
    {
        string images = TestImages.Get("hostile-links");
        var r = OurCli.Run("ls", Path.Combine(images, "links.vmdk"), "disk:/", "-R", "--json");
        Assert.True(r.ExitCode == 0, r.StdErr);
        using var doc = JsonDocument.Parse(r.StdOut);
        var targets = doc.RootElement.GetProperty("entries").EnumerateArray()
            .Where(e => e.GetProperty("type").GetString() == "symlink")
            .ToDictionary(e => e.GetProperty("path").GetString()!, e => e.GetProperty("target").GetString()!);
        Assert.Equal("/etc/passwd", targets["/abs_up"]);
        Assert.Equal("../../etc/shadow", targets["/a/b/rel_up"]);
        Assert.Equal("/", targets["/toroot"]);
        Assert.Equal("etc/passwd", targets["/through"]);
        Assert.Equal("../x", targets["/a/b/hl"]);
        Assert.Equal("../x", targets["/a/b/c/hl2"]);
        foreach (var (path, target) in targets)
        {
            var dir = VolumePath.Components(path)[..^1];
            Assert.True(target.StartsWith('/') || target.Split('/').TakeWhile(p => p == "..").Count() <= dir.Length, $"{path} -> {target} climbs out");
        }
    }

    [Theory]
    [InlineData("/../../../../etc/passwd", new string[0], "/etc/passwd")]
    [InlineData("../../../../x", new[] { "a", "b" }, "/x")]
    [InlineData("toroot/../../../y", new string[0], "/y")]
    [InlineData("/", new[] { "a" }, "/")]
    [InlineData("./c/./d//e", new[] { "a" }, "/a/c/d/e")]
    public void LinkTarget_confines_lexically(string target, string[] dir, string expected) =>
        Assert.Equal(expected, LinkTarget.VolumeAbsolute(target, dir));

    [Fact]
    public void LinkTarget_is_bounded_on_absurd_targets()
    {
        string target = string.Concat(Enumerable.Repeat("../a/", 40_000));
        var resolved = LinkTarget.Resolve(target, ["x"]);
        Assert.True(resolved.Count <= LinkTarget.MaxComponents);
        Assert.Equal("../../../etc", LinkTarget.RelativeWithin("/etc", ["home", "user", "a", "b"], 3));
        Assert.Equal("../other/x", LinkTarget.RelativeWithin("/home/other/x", ["home", "user"], 1));
    }
}
