using VmdkMount.Core.FileSystems;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Ext;

/// <summary>Every image of images/ext-basic.sh read by our reader and by the kernel's read-only loop mount: same tree.</summary>
public class ExtImageTests
{
    private static string Image(string name) => Path.Combine(TestImages.Get("ext-basic"), name + ".img");

    [Theory]
    [InlineData("ext2_1k", "ext2")]
    [InlineData("ext2_4k", "ext2")]
    [InlineData("ext3_1k", "ext3")]
    [InlineData("ext3_4k", "ext3")]
    [InlineData("ext4_1k", "ext4")]
    [InlineData("ext4_4k", "ext4")]
    [InlineData("ext4_noext", "ext4")]
    [InlineData("ext4_32", "ext4")]
    [InlineData("ext4_inline", "ext4")]
    [InlineData("ext4_metabg", "ext4")]
    [InlineData("ext4_kernel", "ext4")]
    [InlineData("ext4_bigalloc", "ext4")]
    [InlineData("ext4_gdtcsum", "ext4")]
    [InlineData("ext2_big", "ext2")]
    public void Tree_matches_the_kernel_mount(string name, string kind) => CompareWithKernel(name, kind, name);

    /// <summary>
    /// This kernel has no CONFIG_UNICODE, so it refuses to mount casefold volumes; the oracle is then its mount of
    /// ext4_4k, made by the same mke2fs from the same source tree (same inode numbers, same layout of names).
    /// </summary>
    [Fact]
    public void Casefold_volume_matches_the_kernel_mount_of_the_same_tree() => CompareWithKernel("ext4_casefold", "ext4", "ext4_4k");

    private static void CompareWithKernel(string name, string kind, string oracleImage)
    {
        string img = Image(name);
        string before = Hashing.Sha256File(img);
        var expected = ExtOracle.FromKernel(Image(oracleImage));
        var (disk, fs) = ExtOracle.Open(img);
        using (disk)
        using (fs)
        {
            Assert.Equal(kind, fs.Kind);
            Assert.Equal(name, fs.Label);
            var actual = ExtOracle.FromReader(fs);
            ExtOracle.AssertSame(expected, actual);
            Assert.True(fs.Warnings.Count == 0, string.Join("\n", fs.Warnings));
        }
        Assert.Equal(before, Hashing.Sha256File(img));
    }

    /// <summary>
    /// 64 KiB blocks (rec_len 65536 is stored as 0 or 65535): this x86 kernel refuses block sizes above the page
    /// size, so the oracle is e2fsprogs' own reader, `debugfs rdump`, compared as names, types, sizes, SHA-256 and
    /// link targets (rdump does not keep the rest).
    /// </summary>
    [Fact]
    public void Volume_with_64k_blocks_matches_debugfs_rdump()
    {
        string img = Image("ext4_64k");
        string dump = RepoPaths.NewScratch("ext64k");
        try
        {
            Tool.Run("debugfs", "-R", $"rdump / {dump}", img);
            var expected = ExtOracle.FromHostTree(dump);
            Assert.True(expected.Count > 300, $"rdump gave only {expected.Count} entries");
            var (disk, fs) = ExtOracle.Open(img);
            using (disk)
            using (fs)
            {
                var actual = ExtOracle.FromReader(fs, full: false);
                ExtOracle.AssertSame(expected, actual);
                Assert.True(fs.Warnings.Count == 0, string.Join("\n", fs.Warnings));
            }
        }
        finally
        {
            Tool.Run("rm", "-rf", dump); // .NET cannot delete names that are not UTF-8
        }
    }

    [Fact]
    public void Needs_recovery_opens_with_a_warning_and_reads_like_the_kernel_without_replay()
    {
        string img = Image("ext4_recover");
        var expected = ExtOracle.FromKernel(img, "loop,ro,noload");
        var (disk, fs) = ExtOracle.Open(img);
        using (disk)
        using (fs)
        {
            Assert.Contains(fs.Warnings, w => w.Contains("needs recovery", StringComparison.Ordinal));
            ExtOracle.AssertSame(expected, ExtOracle.FromReader(fs));
        }
    }

    [Fact]
    public void Names_symlinks_and_special_files_are_reported_as_documented()
    {
        var (disk, fs) = ExtOracle.Open(Image("ext4_4k"));
        using (disk)
        using (fs)
        {
            var root = fs.RootId;
            Assert.Equal(2, root);
            var names = fs.Lookup(root, "names")!;
            // invalid UTF-8 bytes and '%' are escaped as %XX; lookup accepts the escaped form, exact bytes only
            Assert.NotNull(fs.Lookup(names.Id, "bad%FF%FE.bin"));
            Assert.NotNull(fs.Lookup(names.Id, "latin1_caf%E9"));
            Assert.NotNull(fs.Lookup(names.Id, "mix%25_%80"));
            // valid UTF-8 that reads like an escape is escaped too (was shown literally, which made it ambiguous)
            Assert.NotNull(fs.Lookup(names.Id, "100%2525real"));
            Assert.Null(fs.Lookup(names.Id, "100%25real"));
            Assert.NotNull(fs.Lookup(names.Id, "ünïcödé_日本語_😀.txt"));
            Assert.Null(fs.Lookup(names.Id, "PLAIN1"));
            Assert.Null(fs.Lookup(names.Id, "bad\u00ff\u00fe.bin"));
            Assert.Equal(new byte[] { (byte)'m', (byte)'i', (byte)'x', (byte)'%', (byte)'_', 0x80 },
                Core.FileSystems.Ext.ExtNames.Unescape("mix%25_%80"));

            var abs = fs.Lookup(root, "abslink")!;
            Assert.Equal("/etc/passwd", fs.Links().ReadLink(abs.Id));
            var deep = fs.Lookup(fs.Lookup(fs.Lookup(fs.Lookup(root, "deep")!.Id, "a")!.Id, "b")!.Id, "c")!;
            var climbing = fs.Lookup(deep.Id, "climbing")!;
            // as stored, like the kernel's readlink: confining it is the frontends' job (LinkTarget), per place
            Assert.Equal("../../../../../../etc/shadow", fs.Links().ReadLink(climbing.Id));

            var chr = fs.Lookup(root, "chardev")!;
            Assert.Equal(FsNodeType.Device, chr.Type);
            Assert.Equal((1UL, 3UL), (ExtOracle.Major(chr.DeviceNumber), ExtOracle.Minor(chr.DeviceNumber)));
            Assert.Equal(FsNodeType.Fifo, fs.Lookup(root, "fifo")!.Type);
            Assert.Equal(FsNodeType.Socket, fs.Lookup(root, "socket")!.Type);
            var big = fs.Lookup(root, "big.bin")!;
            Assert.Equal(big.Id, fs.Lookup(root, "hardlink.bin")!.Id);
            Assert.Equal(2, big.Links);
            Assert.Throws<Core.Errors.FileReadException>(() => fs.Read(root, 0, new byte[10]));
        }
    }

    [Fact]
    public void Casefold_directories_find_names_in_any_case()
    {
        var (disk, fs) = ExtOracle.Open(Image("ext4_casefold"));
        using (disk)
        using (fs)
        {
            string dir = RepoPaths.NewScratch("extcf");
            try
            {
                // a casefolded directory made by debugfs on a copy (the kernel here cannot mount casefold volumes)
                string copy = Path.Combine(dir, "cf.img");
                File.Copy(Image("ext4_casefold"), copy);
                File.WriteAllText(Path.Combine(dir, "data.txt"), "data\n");
                File.WriteAllText(Path.Combine(dir, "cmds"), $"mkdir cf\nsif cf flags 0x40080000\nwrite {dir}/data.txt cf/MixedCase.TXT\n");
                Tool.Run("debugfs", "-w", "-f", Path.Combine(dir, "cmds"), copy);
                Assert.Contains("MixedCase.TXT", Tool.Run("debugfs", "-R", "ls -l /cf", copy).StdOut);
                var (d2, fs2) = ExtOracle.Open(copy);
                using (d2)
                using (fs2)
                {
                    var cf = fs2.Lookup(fs2.RootId, "cf")!;
                    Assert.Equal("MixedCase.TXT", Assert.Single(fs2.List(cf.Id)).Name);
                    Assert.NotNull(fs2.Lookup(cf.Id, "mixedcase.txt"));
                    Assert.NotNull(fs2.Lookup(cf.Id, "MixedCase.TXT"));
                    Assert.Null(fs2.Lookup(fs2.RootId, "SMALL.TXT")); // not a casefold directory
                    Assert.True(fs2.Warnings.Count == 0, string.Join("\n", fs2.Warnings));
                }
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData("ext4_4k", "big.bin")]      // extents
    [InlineData("ext2_1k", "huge_sparse.bin")] // block map with holes
    [InlineData("ext4_inline", "tiny.txt")]  // inline data
    [InlineData("ext4_kernel", "prealloc.bin")] // unwritten extents
    public void Steady_state_reads_allocate_nothing(string image, string file)
    {
        var (disk, fs) = ExtOracle.Open(Image(image));
        using (disk)
        using (fs)
        {
            var node = fs.Lookup(fs.RootId, file)!;
            var buf = new byte[65536];
            long step = Math.Max(1, node.Size / 50);
            for (long pos = 0; pos < node.Size; pos += step) fs.Read(node.Id, pos, buf); // warm the caches
            Assert.Equal(0, Allocations.LeastOfPasses(() =>
            {
                for (long pos = 0; pos < node.Size; pos += step) fs.Read(node.Id, pos, buf);
            }));
        }
    }

    [Fact]
    public void Parallel_walks_of_a_fresh_volume_agree()
    {
        var (disk, fs) = ExtOracle.Open(Image("ext4_1k"));
        using (disk)
        using (fs)
        {
            // four threads race through cold caches: directories, inodes, extent maps are all first-used concurrently
            var results = new Dictionary<string, string>[4];
            Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => results[i] = ExtOracle.FromReader(fs));
            foreach (var r in results.Skip(1)) ExtOracle.AssertSame(results[0], r);
            Assert.True(results[0].Count > 300);
        }
    }

    [Fact]
    public void Parallel_reads_give_the_same_bytes()
    {
        var (disk, fs) = ExtOracle.Open(Image("ext4_kernel"));
        using (disk)
        using (fs)
        {
            var frag = fs.Lookup(fs.RootId, "frag.bin")!;
            string expected = ExtOracle.Sha256Reader(fs, frag, new byte[1 << 20]);
            var hashes = new string[8];
            Parallel.For(0, hashes.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            {
                // different chunk sizes so threads interleave differently through the extent map
                hashes[i] = ExtOracle.Sha256Reader(fs, frag, new byte[4096 * (i + 1) + i]);
            });
            Assert.All(hashes, h => Assert.Equal(expected, h));
        }
    }
}
