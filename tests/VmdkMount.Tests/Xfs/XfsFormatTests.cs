using System.Globalization;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Xfs;

/// <summary>
/// Each on-disk form the reader decodes, shown by xfs_db to be really there (so a test cannot pass on the wrong
/// shape), then read by us: directory forms (short form, block, leaf, node with a BMBT fork) listed and looked up
/// through the hash index, data forks (local, extents, BMBT of one and two levels), holes and unwritten extents
/// against the kernel's SEEK_DATA, birth times against statx.
/// </summary>
public class XfsFormatTests
{
    /// <summary>Fs-block offsets of a directory's leaf and free-index regions (32 and 64 GiB).</summary>
    private static (long Leaf, long Free) Regions(int blockSize) => ((1L << 35) / blockSize, (1L << 36) / blockSize);

    [Theory]
    [InlineData("v5_4k", 4096, 4096)]
    [InlineData("v5_1k", 1024, 4096)]
    [InlineData("v5_dir16k", 4096, 16384)]
    public void Every_directory_form_is_present_and_lists_and_looks_up_by_hash(string name, int blockSize, int dirBlockSize)
    {
        string img = XfsImages.Image(name);
        var (leafAt, freeAt) = Regions(blockSize);
        var (disk, fs) = XfsImages.Open(img);
        Dictionary<string, Dictionary<string, long>> listed;
        using (disk)
        using (fs)
        {
            long Ino(string p) => XfsImages.Ino(fs, p);
            Assert.Equal("local", XfsImages.ForkFormat(img, Ino("/sf")));
            var blk = XfsImages.Bmap(img, Ino("/blk"));
            Assert.Equal("extents", XfsImages.ForkFormat(img, Ino("/blk")));
            Assert.DoesNotContain(blk, e => e.Offset >= leafAt);
            var leaf = XfsImages.Bmap(img, Ino("/leaf"));
            if (name == "v5_dir16k") Assert.DoesNotContain(leaf, e => e.Offset >= leafAt); // 400 entries fit one 16 KiB block
            else
            {
                Assert.Contains(leaf, e => e.Offset == leafAt);
                Assert.DoesNotContain(leaf, e => e.Offset >= freeAt);
            }
            var node = XfsImages.Bmap(img, Ino("/node"));
            Assert.Contains(node, e => e.Offset >= freeAt);
            if (name != "v5_dir16k") Assert.Equal("btree", XfsImages.ForkFormat(img, Ino("/node")));
            Assert.Contains("0x58444233", XfsImages.XfsDb(img, $"inode {Ino("/blk")}", "dblock 0", "print bhdr.hdr.magic")); // XDB3
            listed = new[] { "/sf", "/blk", "/leaf", "/node", "/holes" }.ToDictionary(d => d,
                d => fs.List(Ino(d)).ToDictionary(e => e.Name, e => e.Node.Id));
            Assert.Equal(3, listed["/sf"].Count);
            Assert.Equal(60, listed["/blk"].Count);
            Assert.Equal(400, listed["/leaf"].Count);
            Assert.Equal(3000, listed["/node"].Count);
            Assert.Equal(100, listed["/holes"].Count);
        }

        // A fresh reader has listed nothing, so these lookups go through the hash index, not a listing.
        var (disk2, fresh) = XfsImages.Open(img);
        using (disk2)
        using (fresh)
        {
            foreach (var (dir, entries) in listed)
            {
                long dirId = XfsImages.Ino(fresh, dir);
                foreach (var (entry, id) in entries)
                    Assert.Equal(id, fresh.Lookup(dirId, entry)?.Id);
                Assert.Null(fresh.Lookup(dirId, "not_there"));
                Assert.Null(fresh.Lookup(dirId, "leaf_entry_name_401"));
                Assert.Null(fresh.Lookup(dirId, "."));
            }
        }

        // One name in the 3000-entry node directory costs its index path and one data block, not a scan.
        using var raw = new Core.Disks.RawDisk(img);
        var counting = new CountingReadAt(raw);
        var (disk3, fs3) = XfsImages.Open(img, counting);
        using (disk3)
        using (fs3)
        {
            long nodeId = XfsImages.Ino(fs3, "/node");
            long before = counting.Bytes;
            Assert.NotNull(fs3.Lookup(nodeId, "node_entry_with_a_longer_name_2999"));
            long cost = counting.Bytes - before;
            long nodeSize = fs3.Stat(nodeId).Size;
            // the DA node, the LEAFN and the data block; the data fork's BMBT blocks and the inode's block
            Assert.True(cost <= 3 * dirBlockSize + 4 * blockSize && cost < nodeSize / 2, $"one lookup read {cost} bytes of a {nodeSize}-byte directory");
        }
    }

    /// <summary>Names that are not plain UTF-8, or hold `%XX`, are found by the escaped form the listing shows, and only by it.</summary>
    [Fact]
    public void Escaped_names_are_looked_up_by_their_shown_form()
    {
        string img = XfsImages.Image("v5_4k");
        var (disk, fs) = XfsImages.Open(img);
        Dictionary<string, long> root;
        using (disk)
        using (fs)
        {
            Assert.Equal("extents", XfsImages.ForkFormat(img, fs.RootId)); // a block directory: lookups below are hashed
            root = fs.List(fs.RootId).ToDictionary(e => e.Name, e => e.Node.Id);
        }
        Assert.Contains("bad%FF%FE.bin", root.Keys);
        Assert.Contains("100%2525real", root.Keys);
        Assert.Contains("ünïcödé_日本語.txt", root.Keys);
        var (disk2, fresh) = XfsImages.Open(img);
        using (disk2)
        using (fresh)
        {
            foreach (var (name, id) in root) Assert.Equal(id, fresh.Lookup(fresh.RootId, name)?.Id);
            Assert.Null(fresh.Lookup(fresh.RootId, "bad%ff%fe.bin"));
            Assert.Null(fresh.Lookup(fresh.RootId, "100%25real"));
            Assert.Null(fresh.Lookup(fresh.RootId, ".."));
        }
    }

    [Theory]
    [InlineData("v5_4k", 1)]
    [InlineData("v5_1k", 2)]
    [InlineData("v5_n64_old", 1)]
    public void Data_fork_formats_are_present_and_read_like_the_kernel(string name, int bmbtLevel)
    {
        string img = XfsImages.Image(name);
        var (disk, fs) = XfsImages.Open(img);
        using (disk)
        using (fs)
        {
            long Ino(string p) => XfsImages.Ino(fs, p);
            Assert.Equal("btree", XfsImages.ForkFormat(img, Ino("/frag_btree.bin")));
            Assert.Contains($"u3.bmbt.level = {bmbtLevel}", XfsImages.XfsDb(img, $"inode {Ino("/frag_btree.bin")}", "print u3.bmbt.level"));
            Assert.Equal(1000, XfsImages.Bmap(img, Ino("/frag_btree.bin")).Count);
            Assert.Equal("extents", XfsImages.ForkFormat(img, Ino("/contig_1m")));
            Assert.Equal("local", XfsImages.ForkFormat(img, Ino("/symlink_short")));
            Assert.Equal("extents", XfsImages.ForkFormat(img, Ino("/symlink_remote")));
            Assert.Equal("sf/f1", fs.Links().ReadLink(Ino("/symlink_short")));
            Assert.Equal(989, fs.Links().ReadLink(Ino("/symlink_remote")).Length);
            var pre = XfsImages.Bmap(img, Ino("/prealloc.bin"));
            Assert.Contains(pre, e => e.Flag == 1);
            Assert.Contains(pre, e => e.Flag == 0);
            Assert.Contains(XfsImages.Bmap(img, Ino("/prealloc_keepsize.bin")), e => e.Flag == 1 && (e.Offset + e.Count) * (name == "v5_1k" ? 1024 : 4096) > 4);
            if (name == "v5_n64_old")
            {
                // the data-fork extent count moved to the 64-bit field at 24; times are the legacy 32-bit seconds
                Assert.Contains("v3.nrext64 = 1", XfsImages.XfsDb(img, $"inode {Ino("/frag_btree.bin")}", "print v3.nrext64"));
                Assert.Contains("v3.bigtime = 0", XfsImages.XfsDb(img, $"inode {Ino("/future")}", "print v3.bigtime"));
                Assert.Equal(int.MaxValue, fs.Stat(Ino("/future")).Modified!.Value.UnixSeconds);
            }
            else Assert.Contains("v3.bigtime = 1", XfsImages.XfsDb(img, $"inode {Ino("/future")}", "print v3.bigtime"));
        }
    }

    /// <summary>Holes and unwritten extents leave the allocation map exactly where the kernel's SEEK_DATA skips them.</summary>
    [Theory]
    [InlineData("v5_4k")]
    [InlineData("v5_1k")]
    public void Allocation_map_matches_the_kernels_seek_data(string name)
    {
        string img = XfsImages.Image(name);
        string[] files = ["sparse.bin", "huge_sparse.bin", "prealloc.bin", "prealloc_keepsize.bin", "frag_btree.bin", "contig_1m", "empty.txt"];
        var kernel = new Dictionary<string, string>();
        // A private copy: other tests' mounts of the same image share its page cache, and cached pages over an
        // unwritten extent count as data to SEEK_DATA. nouuid: the copy has the same UUID as a mounted original.
        string mnt = RepoPaths.NewScratch("xfsseek");
        string copy = mnt + ".img";
        Tool.Run("cp", "--sparse=always", img, copy);
        try
        {
            Tool.Run("mount", "-o", "loop,ro,nouuid", copy, mnt);
            try
            {
                var script = """
                    import os, sys
                    for f in sys.argv[2:]:
                        fd = os.open(os.path.join(sys.argv[1], f), os.O_RDONLY); end = os.fstat(fd).st_size; pos = 0; runs = []
                        while pos < end:
                            try: d = os.lseek(fd, pos, os.SEEK_DATA)
                            except OSError: break
                            h = os.lseek(fd, d, os.SEEK_HOLE); runs.append(f"{d}+{h - d}"); pos = h
                        print(f + " " + ",".join(runs)); os.close(fd)
                    """;
                foreach (var line in Tool.Run("python3", ["-c", script, mnt, .. files]).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    int sp = line.IndexOf(' ');
                    kernel[line[..sp]] = line[(sp + 1)..];
                }
            }
            finally
            {
                Tool.Run("umount", [mnt], allowFailure: true);
            }
        }
        finally
        {
            Directory.Delete(mnt);
            File.Delete(copy);
        }
        var (disk, fs) = XfsImages.Open(img);
        using (disk)
        using (fs)
        {
            var map = (IFileAllocationMap)fs;
            foreach (var f in files)
            {
                var node = fs.Lookup(fs.RootId, f)!;
                var merged = new List<(long Offset, long Length)>();
                foreach (var r in map.AllocatedRanges(node.Id, 0, node.Size))
                    if (merged.Count > 0 && merged[^1].Offset + merged[^1].Length == r.Offset) merged[^1] = (merged[^1].Offset, merged[^1].Length + r.Length);
                    else merged.Add(r);
                Assert.Equal(kernel[f], string.Join(",", merged.Select(r => $"{r.Offset}+{r.Length}")));
            }
            var sparse = fs.Lookup(fs.RootId, "prealloc.bin")!;
            var buf = new byte[sparse.Size];
            Assert.Equal(buf.Length, fs.Read(sparse.Id, 0, buf));
            Assert.Equal("written in the middle", System.Text.Encoding.ASCII.GetString(buf, 300000, 21));
            Assert.Equal(buf.Length - 21, buf.Count(b => b == 0));
        }
    }

    /// <summary>
    /// A 6 GiB sparse file with data at 0, across the 4 GiB line and in its last bytes: the same bytes as the kernel
    /// reads there (dd), the same data ranges as its SEEK_DATA, and holes as zeros; not hashed whole (6 GiB of zeros).
    /// </summary>
    [Fact]
    public void File_offsets_past_4_GiB_read_like_the_kernel()
    {
        string img = XfsImages.Image("v5_big");
        long size = 6L * 1024 * 1024 * 1024 + 5;
        long[] at = [0, 4L * 1024 * 1024 * 1024 - 8, 4L * 1024 * 1024 * 1024 - 4, size - 9, 1L << 31];
        var kernel = new List<string>();
        string ranges;
        string mnt = RepoPaths.NewScratch("xfsbig");
        try
        {
            Tool.Run("mount", "-o", "loop,ro", img, mnt);
            try
            {
                string file = Path.Combine(mnt, "over4g.bin");
                foreach (long o in at) kernel.Add(Convert.ToHexString(Tool.Run("dd", $"if={file}", "bs=1", $"skip={o}", "count=16", "status=none", "iflag=skip_bytes").StdOutBytes));
                ranges = Tool.Run("python3", ["-c", """
                    import os, sys
                    fd = os.open(sys.argv[1], os.O_RDONLY); end = os.fstat(fd).st_size; pos = 0; runs = []
                    while pos < end:
                        try: d = os.lseek(fd, pos, os.SEEK_DATA)
                        except OSError: break
                        h = os.lseek(fd, d, os.SEEK_HOLE); runs.append(f"{d}+{h - d}"); pos = h
                    print(",".join(runs))
                    """, file]).StdOut.Trim();
            }
            finally
            {
                Tool.Run("umount", [mnt], allowFailure: true);
            }
        }
        finally
        {
            Directory.Delete(mnt);
        }
        var (disk, fs) = XfsImages.Open(img);
        using (disk)
        using (fs)
        {
            var node = fs.Lookup(fs.RootId, "over4g.bin")!;
            Assert.Equal(size, node.Size);
            for (int i = 0; i < at.Length; i++)
            {
                var buf = new byte[16];
                int got = fs.Read(node.Id, at[i], buf);
                Assert.Equal(kernel[i], Convert.ToHexString(buf, 0, got));
            }
            var merged = new List<(long Offset, long Length)>();
            foreach (var r in ((IFileAllocationMap)fs).AllocatedRanges(node.Id, 0, node.Size))
                if (merged.Count > 0 && merged[^1].Offset + merged[^1].Length == r.Offset) merged[^1] = (merged[^1].Offset, merged[^1].Length + r.Length);
                else merged.Add(r);
            Assert.Equal(ranges, string.Join(",", merged.Select(r => $"{r.Offset}+{r.Length}")));
            Assert.Equal(3, merged.Count);
        }
    }

    /// <summary>Birth time (v5 only) equals what statx shows through the kernel, to the nanosecond; past 2038 and before 1970 are in the tree test.</summary>
    [Fact]
    public void Creation_time_matches_statx()
    {
        string img = XfsImages.Image("v5_4k");
        string mnt = RepoPaths.NewScratch("xfsbirth");
        string shown;
        try
        {
            Tool.Run("mount", "-o", "loop,ro", img, mnt);
            try
            {
                shown = Tool.Run("stat", ["-c", "%W %w", Path.Combine(mnt, "owned")], env: new Dictionary<string, string> { ["TZ"] = "UTC" }).StdOut.Trim();
            }
            finally
            {
                Tool.Run("umount", [mnt], allowFailure: true);
            }
        }
        finally
        {
            Directory.Delete(mnt);
        }
        // "%W %w": seconds, then "YYYY-MM-DD HH:MM:SS.nnnnnnnnn +0000"
        var parts = shown.Split(' ');
        string ns = parts[2].Split('.')[1];
        var (disk, fs) = XfsImages.Open(img);
        using (disk)
        using (fs)
        {
            var created = fs.Lookup(fs.RootId, "owned")!.Created!.Value;
            Assert.Equal($"{parts[0]}.{ns}", $"{created.UnixSeconds.ToString(CultureInfo.InvariantCulture)}.{created.Nanoseconds:D9}");
        }
    }

    /// <summary>Counts the bytes a reader asks for.</summary>
    private sealed class CountingReadAt(IReadAt inner) : IReadAt
    {
        private long _bytes;
        public long Bytes => Interlocked.Read(ref _bytes);
        public long Length => inner.Length;

        public int ReadAt(long offset, Span<byte> destination)
        {
            Interlocked.Add(ref _bytes, destination.Length);
            return inner.ReadAt(offset, destination);
        }
    }
}
