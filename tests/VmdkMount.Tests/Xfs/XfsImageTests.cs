using VmdkMount.Tests.Ext;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Xfs;

/// <summary>
/// Every image of images/xfs-basic.sh read by our reader against an independent one: the kernel's read-only loop mount
/// (type, mode, owner, size, mtime to the nanosecond, link count, inode number, SHA-256, link target, device number
/// of every path), or, for what this kernel cannot mount, the host tree mkfs.xfs was fed.
/// </summary>
public class XfsImageTests
{
    [Theory]
    [InlineData("v5_4k")]
    [InlineData("v5_1k")]
    [InlineData("v5_dir16k")]
    [InlineData("v5_n64_old")]
    public void Tree_matches_the_kernel_mount(string name)
    {
        string img = XfsImages.Image(name);
        string before = Hashing.Sha256File(img);
        var expected = ExtOracle.FromKernel(img);
        Assert.True(expected.Count > 3500, $"the kernel shows only {expected.Count} paths");
        var (disk, fs) = XfsImages.Open(img);
        using (disk)
        using (fs)
        {
            Assert.Equal("xfs", fs.Kind);
            Assert.Equal(name, fs.Label);
            ExtOracle.AssertSame(expected, ExtOracle.FromReader(fs));
            Assert.True(fs.Warnings.Count == 0, string.Join("\n", fs.Warnings));
        }
        Assert.Equal(before, Hashing.Sha256File(img));
    }

    /// <summary>
    /// This kernel is built without CONFIG_XFS_SUPPORT_V4 and cannot mount blocks larger than its 4 KiB pages, so
    /// these images were made by `mkfs.xfs -p` from a host tree, which is the oracle (names, types, sizes, SHA-256,
    /// link targets: what a prototype carries). v4_512 has 512-byte blocks, 4 KiB directory blocks and no ftype.
    /// The v5 ones lack the remote symlink: mkfs 6.1 writes a bad CRC into it from a proto (see the script). A fresh
    /// reader then finds every name of the leaf and node directories through the hash index, without ftype on v4_512.
    /// </summary>
    [Theory]
    [InlineData("v4")]
    [InlineData("v4_512")]
    [InlineData("v5_64k")]
    [InlineData("ci")]
    public void Prototype_made_image_matches_its_source_tree(string name)
    {
        var expected = ExtOracle.FromHostTree(XfsImages.SourceTree);
        if (name is "v5_64k" or "ci") Assert.True(expected.Remove("/symlink_remote"));
        Assert.True(expected.Count > 1900, $"the source tree has only {expected.Count} paths");
        Dictionary<string, Dictionary<string, long>> listed;
        var (disk, fs) = XfsImages.Open(XfsImages.Image(name));
        using (disk)
        using (fs)
        {
            Assert.Equal(name, fs.Label);
            ExtOracle.AssertSame(expected, ExtOracle.FromReader(fs, full: false));
            var chardev = fs.Lookup(fs.RootId, "chardev")!;
            Assert.Equal(Core.FileSystems.FsNodeType.Device, chardev.Type);
            Assert.Equal("1:3", $"{ExtOracle.Major(chardev.DeviceNumber)}:{ExtOracle.Minor(chardev.DeviceNumber)}");
            Assert.Equal(Core.FileSystems.FsNodeType.Fifo, fs.Lookup(fs.RootId, "fifo")!.Type);
            Assert.True(fs.Warnings.Count == 0, string.Join("\n", fs.Warnings));
            listed = new[] { "/leaf", "/node" }.ToDictionary(d => d, d => fs.List(XfsImages.Ino(fs, d)).ToDictionary(e => e.Name, e => e.Node.Id));
        }
        var (disk2, fresh) = XfsImages.Open(XfsImages.Image(name));
        using (disk2)
        using (fresh)
            foreach (var (dir, entries) in listed)
            {
                long dirId = XfsImages.Ino(fresh, dir);
                foreach (var (entry, id) in entries) Assert.Equal(id, fresh.Lookup(dirId, entry)?.Id);
                Assert.Null(fresh.Lookup(dirId, "absent"));
            }
    }

    /// <summary>`-n version=ci`: names are stored as given and found whatever their ASCII case, through the hash index too.</summary>
    [Fact]
    public void Ascii_ci_volume_finds_names_in_any_ascii_case()
    {
        string img = XfsImages.Image("ci");
        Assert.Contains("versionnum = 0xf4a5", XfsImages.XfsDb(img, "sb 0", "print versionnum")); // 0x4000: BORG (ASCII-CI)
        var (disk, fs) = XfsImages.Open(img);
        using (disk)
        using (fs)
        {
            long leaf = XfsImages.Ino(fs, "/leaf");
            var exact = fs.Lookup(leaf, "leaf_entry_name_123")!;
            Assert.Equal(exact.Id, fs.Lookup(leaf, "LEAF_Entry_Name_123")?.Id);
            long node = XfsImages.Ino(fs, "/NODE");
            Assert.Equal(fs.Lookup(node, "node_entry_with_a_longer_name_1499")!.Id, fs.Lookup(node, "Node_Entry_With_A_Longer_Name_1499")?.Id);
            Assert.Equal(XfsImages.Ino(fs, "/sf/f1"), XfsImages.Ino(fs, "/SF/F1"));
            Assert.Contains(fs.List(fs.RootId), e => e.Name == "leaf");
            Assert.Equal(1500, fs.List(node).Count());
        }
    }

    [Fact]
    public void Prototype_images_have_the_geometry_they_were_made_with()
    {
        string Sb(string name) => XfsImages.XfsDb(XfsImages.Image(name), "sb 0", "print versionnum blocksize dirblklog inodesize rootino features2");
        Assert.Contains("blocksize = 512", Sb("v4_512"));
        Assert.Contains("dirblklog = 3", Sb("v4_512"));
        Assert.Contains("rootino = 32", Sb("v4_512"));
        Assert.DoesNotContain("0x28a", Sb("v4_512")); // no ftype bit
        Assert.Contains("versionnum = 0xb4a4", Sb("v4"));
        Assert.Contains("inodesize = 256", Sb("v4"));
        Assert.Contains("blocksize = 65536", Sb("v5_64k"));
        Assert.Contains("inodesize = 2048", XfsImages.XfsDb(XfsImages.Image("v5_dir16k"), "sb 0", "print inodesize"));
        Assert.Contains("dirblklog = 2", XfsImages.XfsDb(XfsImages.Image("v5_dir16k"), "sb 0", "print dirblklog"));
        Assert.Contains("agcount = 7", XfsImages.XfsDb(XfsImages.Image("v5_dir16k"), "sb 0", "print agcount"));
        Assert.Contains("features_incompat = 0x23", XfsImages.XfsDb(XfsImages.Image("v5_n64_old"), "sb 0", "print features_incompat")); // ftype, sparse, nrext64; no bigtime
    }
}
