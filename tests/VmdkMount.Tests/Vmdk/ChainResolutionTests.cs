using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Errors;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Vmdk;

/// <summary>Finding parents (digest 7.1): hints of every style, renamed and moved folders, loops, missing links.</summary>
public sealed class ChainResolutionTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("vmdk-resolve");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const long Cap = SyntheticChain.CapacitySectors;

    private string Link(string name, uint cid, uint parentCid, string? hint, byte fill, string? dir = null)
    {
        string path = Path.Combine(dir ?? _dir, name);
        var grains = new Dictionary<long, byte[]?> { [fill % 16] = VmdkTestWriter.Fill(SyntheticChain.GrainSectors * 512, fill) };
        VmdkTestWriter.WriteHosted(path, Cap, SyntheticChain.GrainSectors, grains, VmdkTestWriter.Descriptor(cid, parentCid, hint, Cap, name));
        return path;
    }

    private static byte At(IVirtualDisk d, byte fill)
    {
        var b = new byte[1];
        d.ReadAt((fill % 16) * SyntheticChain.GrainSectors * 512L, b);
        return b[0];
    }

    [Theory]
    [InlineData("/vmfs/volumes/5f0e9c2d-7a41b3e8/web01/base.vmdk")]
    [InlineData(@"C:\Virtual Machines\web01\base.vmdk")]
    [InlineData(@"\\backup-srv\vms\web01\base.vmdk")]
    [InlineData("base.vmdk")]
    [InlineData("./base.vmdk")]
    public void Parent_hint_of_any_style_finds_the_file_beside_the_child(string hint)
    {
        Link("base.vmdk", 0xA1, 0xFFFFFFFF, null, 1);
        string child = Link("child.vmdk", 0xA2, 0xA1, hint, 2);
        using var disk = (VmdkDisk)DiskOpener.Open(child);
        Assert.Equal(2, disk.Links.Count);
        Assert.Equal(1, At(disk, 1));
        Assert.Equal(2, At(disk, 2));
    }

    [Fact]
    public void Relative_hint_into_another_folder_is_joined_to_the_childs_folder()
    {
        string baseDir = Path.Combine(_dir, "bases");
        string snapDir = Path.Combine(_dir, "snaps");
        Directory.CreateDirectory(baseDir);
        Directory.CreateDirectory(snapDir);
        Link("base.vmdk", 0xB1, 0xFFFFFFFF, null, 1, baseDir);
        string child = Link("child.vmdk", 0xB2, 0xB1, "../bases/base.vmdk", 2, snapDir);
        using var disk = (VmdkDisk)DiskOpener.Open(child);
        Assert.Equal(Path.Combine(baseDir, "base.vmdk"), disk.Links[1].Path);
        Assert.Equal("parentFileNameHint", disk.Links[1].FoundBy);
    }

    [Fact]
    public void Absolute_hint_to_another_folder_is_used_when_nothing_is_beside_the_child()
    {
        string other = Path.Combine(_dir, "elsewhere");
        Directory.CreateDirectory(other);
        string parent = Link("base.vmdk", 0xB5, 0xFFFFFFFF, null, 1, other);
        string child = Link("child.vmdk", 0xB6, 0xB5, parent, 2);
        using var disk = (VmdkDisk)DiskOpener.Open(child);
        Assert.Equal(parent, disk.Links[1].Path);
        Assert.Equal("parentFileNameHint (absolute path)", disk.Links[1].FoundBy);
    }

    [Fact]
    public void Moved_folder_with_renamed_parent_is_found_by_CID()
    {
        string a = Path.Combine(_dir, "original");
        Directory.CreateDirectory(a);
        Link("base.vmdk", 0xC1, 0xFFFFFFFF, null, 1, a);
        Link("mid.vmdk", 0xC2, 0xC1, "base.vmdk", 2, a);
        Link("top.vmdk", 0xC3, 0xC2, "mid.vmdk", 3, a);
        Link("unrelated.vmdk", 0xEE, 0xFFFFFFFF, null, 4, a);
        string moved = Path.Combine(_dir, "restored copy");
        Directory.Move(a, moved);
        File.Move(Path.Combine(moved, "mid.vmdk"), Path.Combine(moved, "web01-000001.vmdk"));
        File.Move(Path.Combine(moved, "base.vmdk"), Path.Combine(moved, "web01.vmdk"));
        using var disk = (VmdkDisk)DiskOpener.Open(Path.Combine(moved, "top.vmdk"));
        Assert.Equal(["top.vmdk", "web01-000001.vmdk", "web01.vmdk"], disk.Links.Select(l => Path.GetFileName(l.Path)));
        Assert.Contains("CID search", disk.Links[1].FoundBy);
        Assert.Equal(1, At(disk, 1));
        Assert.Equal(2, At(disk, 2));
        Assert.Equal(3, At(disk, 3));
        Assert.Equal(0, At(disk, 4));
    }

    [Fact]
    public void Parent_loop_is_detected()
    {
        Link("a.vmdk", 0xD1, 0xD2, "b.vmdk", 1);
        Link("b.vmdk", 0xD2, 0xD1, "a.vmdk", 2);
        var e = Assert.Throws<ChainException>(() => DiskOpener.Open(Path.Combine(_dir, "a.vmdk")));
        Assert.Contains("loop", e.Message);
        Assert.Contains("a.vmdk", e.Message);
    }

    [Fact]
    public void Self_parent_is_a_loop()
    {
        string self = Link("self.vmdk", 0xD5, 0xD5, "self.vmdk", 1);
        var e = Assert.Throws<ChainException>(() => DiskOpener.Open(self));
        Assert.Contains("loop", e.Message);
    }

    [Fact]
    public void Missing_parent_names_the_child_and_the_hint()
    {
        string child = Link("orphan.vmdk", 0xF2, 0xF1, "gone.vmdk", 1);
        var e = Assert.Throws<ChainException>(() => DiskOpener.Open(child));
        Assert.Contains("orphan.vmdk", e.Message);
        Assert.Contains("gone.vmdk", e.Message);
        Assert.Contains("000000f1", e.Message);
    }

    [Fact]
    public void Child_larger_than_parent_reads_zeros_past_the_parents_end()
    {
        string basePath = Path.Combine(_dir, "small.vmdk");
        VmdkTestWriter.WriteHosted(basePath, 1024, 8, new Dictionary<long, byte[]?> { [127] = VmdkTestWriter.Fill(4096, 0x77) },
            VmdkTestWriter.Descriptor(0x51, 0xFFFFFFFF, null, 1024, "small.vmdk"));
        string child = Link("big.vmdk", 0x52, 0x51, "small.vmdk", 3);
        using var disk = DiskOpener.Open(child);
        Assert.Equal(Cap * 512, disk.Length);
        Assert.Contains(disk.Warnings, w => w.Contains("capacity"));
        var buf = new byte[Cap * 512];
        disk.ReadAt(0, buf);
        Assert.All(buf.AsSpan(127 * 4096, 4096).ToArray(), b => Assert.Equal(0x77, b));
        Assert.All(buf.AsSpan(512 * 1024).ToArray().Where((_, i) => i / 4096 + 128 != 3), b => Assert.Equal(0, b));
    }
}
