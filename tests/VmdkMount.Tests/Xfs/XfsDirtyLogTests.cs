using VmdkMount.Tests.Ext;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Xfs;

/// <summary>
/// A log left dirty (files written and synced, then `xfs_io -x -c shutdown`): the volume opens read-only with the
/// warning and shows the home locations as they are, which is what the kernel shows with `ro,norecovery` (no
/// replay). The oracle mounts a copy, because a kernel mount of a writable dirty image may replay it.
/// </summary>
public sealed class XfsDirtyLogTests : IDisposable
{
    private readonly string _scratch = RepoPaths.NewScratch("xfs-dirty");

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public void Dirty_log_opens_with_a_warning_and_shows_what_norecovery_shows()
    {
        string img = XfsImages.Image("v5_dirty");
        Assert.Contains("<DIRTY>", Tool.Run("xfs_logprint", "-t", img).StdOut);
        string copy = Path.Combine(_scratch, "dirty.img");
        Tool.Run("cp", "--sparse=always", img, copy);
        var expected = ExtOracle.FromKernel(copy, "loop,ro,norecovery");
        Assert.Contains("/before.txt", expected.Keys);
        string before = Hashing.Sha256File(img);
        var (disk, fs) = XfsImages.Open(img);
        using (disk)
        using (fs)
        {
            ExtOracle.AssertSame(expected, ExtOracle.FromReader(fs));
            var w = Assert.Single(fs.Warnings);
            Assert.Contains("XFS log not clean", w);
            Assert.Contains("recently changed files may be missing", w);
        }
        Assert.Equal(before, Hashing.Sha256File(img));
    }

    [Theory]
    [InlineData("v5_4k")]
    [InlineData("v4")]
    [InlineData("v4_512")]
    [InlineData("v5_64k")]
    public void Clean_logs_give_no_warning(string name)
    {
        Assert.Contains("<CLEAN>", Tool.Run("xfs_logprint", "-t", XfsImages.Image(name)).StdOut);
        var (disk, fs) = XfsImages.Open(XfsImages.Image(name));
        using (disk)
        using (fs)
            Assert.Empty(fs.Warnings);
    }
}
