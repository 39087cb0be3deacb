using System.Text.Json;
using VmdkMount.Tests.Ext;
using VmdkMount.Tests.Fuse;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Xfs;

/// <summary>
/// v5_4k inside a qemu-made VMDK, through the whole stack as a user runs it: `volumes` shows it mountable, `ls -R`
/// lists the kernel's paths, `cat` gives the kernel's bytes, `extract` and a FUSE `mount` give the kernel's trees
/// (contents, link targets, mtimes). The kernel side is a read-only loop mount of the raw image the VMDK was made from.
/// </summary>
public sealed class XfsVmdkEndToEndTests : IDisposable
{
    private readonly string _scratch = RepoPaths.NewScratch("xfs-e2e");
    private readonly string _kernel;
    private static string Vmdk => Path.Combine(XfsImages.Dir, "v5_4k.vmdk");

    public XfsVmdkEndToEndTests()
    {
        _kernel = Path.Combine(_scratch, "kernel");
        Directory.CreateDirectory(_kernel);
        Tool.Run("mount", "-o", "loop,ro", XfsImages.Image("v5_4k"), _kernel);
    }

    public void Dispose()
    {
        if (Tool.Run("umount", [_kernel], allowFailure: true).ExitCode != 0) Tool.Run("umount", ["-l", _kernel], allowFailure: true);
        Directory.Delete(_scratch, recursive: true);
    }

    [Fact]
    public void Volumes_ls_and_cat_show_the_kernels_view()
    {
        string before = Hashing.Sha256File(Vmdk);
        var r = OurCli.Run("volumes", Vmdk, "--json");
        Assert.Equal(0, r.ExitCode);
        var v = JsonDocument.Parse(r.StdOut).RootElement.GetProperty("volumes").EnumerateArray().Single();
        Assert.Equal("xfs", v.GetProperty("filesystem").GetString());
        Assert.True(v.GetProperty("mountable").GetBoolean());
        Assert.Equal("v5_4k", v.GetProperty("label").GetString());

        var expected = KernelPaths();
        var ls = OurCli.Run("ls", Vmdk, "disk:/", "-R");
        Assert.True(ls.ExitCode == 0, ls.StdErr);
        var listed = ls.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        Assert.True(listed.SetEquals(expected), $"ls -R and the kernel differ: {string.Join(", ", listed.Except(expected).Concat(expected.Except(listed)).Take(10))}");

        foreach (var path in new[] { "/contig_1m", "/frag_btree.bin", "/prealloc.bin", "/deep/a/b/leaf.txt", "/node/node_entry_with_a_longer_name_77" })
        {
            var cat = OurCli.Run("cat", Vmdk, "disk:" + path);
            Assert.True(cat.ExitCode == 0, cat.StdErr);
            Assert.Equal(Hashing.Sha256File(_kernel + path), Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(cat.StdOutBytes)).ToLowerInvariant());
        }
        Assert.Equal(before, Hashing.Sha256File(Vmdk));
    }

    /// <summary>Every path under the kernel mount, escaped as our names are (see ExtOracle.Escape).</summary>
    private HashSet<string> KernelPaths()
    {
        var raw = Tool.Run("find", [".", "-mindepth", "1", "-printf", "%P\\0"], workDir: _kernel).StdOutBytes;
        var result = new HashSet<string>(StringComparer.Ordinal);
        int start = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] != 0) continue;
            var parts = new List<string>();
            int s = start;
            for (int k = start; k <= i; k++)
                if (k == i || raw[k] == (byte)'/') { parts.Add(ExtOracle.Escape(raw[s..k], keepSlash: false)); s = k + 1; }
            result.Add("/" + string.Join('/', parts));
            start = i + 1;
        }
        return result;
    }

    [Fact]
    public void Extract_restores_the_kernels_trees_with_times()
    {
        string dest = Path.Combine(_scratch, "out");
        Directory.CreateDirectory(dest);
        foreach (var tree in new[] { "leaf", "deep", "sf", "holes" })
        {
            var r = OurCli.Run("extract", Vmdk, "disk:/" + tree, dest);
            Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
            TreeAssert.Equal(Path.Combine(_kernel, tree), Path.Combine(dest, tree), compareTimes: true);
        }
        var one = OurCli.Run("extract", Vmdk, "disk:/frag_btree.bin", dest);
        Assert.True(one.ExitCode == 0, one.StdErr);
        Assert.Equal(Hashing.Sha256File(Path.Combine(_kernel, "frag_btree.bin")), Hashing.Sha256File(Path.Combine(dest, "frag_btree.bin")));
        Assert.Equal(File.GetLastWriteTimeUtc(Path.Combine(_kernel, "frag_btree.bin")), File.GetLastWriteTimeUtc(Path.Combine(dest, "frag_btree.bin")));
    }

    [Fact]
    public void Fuse_mount_shows_the_kernels_tree()
    {
        using var m = new CliMount(Vmdk, Path.Combine(_scratch, "mnt"), Path.Combine(_scratch, "state"));
        string root = Path.Combine(m.MountPoint, "disk");
        foreach (var tree in new[] { "leaf", "node", "deep", "sf", "blk" })
            TreeAssert.Equal(Path.Combine(_kernel, tree), Path.Combine(root, tree), compareTimes: true);
        Assert.Equal("sf/f1", new FileInfo(Path.Combine(root, "symlink_short")).LinkTarget);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_kernel, "contig_1m")), File.ReadAllBytes(Path.Combine(root, "contig_1m")));
        Assert.Equal(new FileInfo(Path.Combine(_kernel, "symlink_remote")).LinkTarget, new FileInfo(Path.Combine(root, "symlink_remote")).LinkTarget);
        var kernelNames = Directory.EnumerateFileSystemEntries(_kernel).Select(Path.GetFileName).Where(n => !n!.Contains('\uFFFD')).Order(StringComparer.Ordinal).ToList();
        var ourNames = Directory.EnumerateFileSystemEntries(root).Select(Path.GetFileName).Where(n => !n!.Contains('%')).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(kernelNames.Where(n => !n!.Contains('%')), ourNames);
        Assert.Equal(new DateTime(2300, 1, 2, 3, 4, 5, DateTimeKind.Utc).AddTicks(1234567), File.GetLastWriteTimeUtc(Path.Combine(root, "future")));
    }
}
