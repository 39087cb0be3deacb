using System.Diagnostics;
using System.Text.RegularExpressions;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Xfs;

/// <summary>
/// The large shapes of images/xfs-bigdir.sh. A 100,000-entry directory: node form with a B+tree data fork, shown so by xfs_db; listed
/// exactly as xfs_db lists it (name and inode), and every name found again through the hash index by a reader that
/// never listed it.
/// </summary>
public partial class XfsBigDirectoryTests
{
    [Fact]
    public void Hundred_thousand_entries_list_and_look_up_like_xfs_db()
    {
        string img = Path.Combine(TestImages.Get("xfs-bigdir"), "bigdir.img");
        var oracle = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (Match m in LsLine().Matches(XfsImages.XfsDb(img, "ls /big")))
            if (m.Groups[2].Value is not ("." or "..")) oracle[m.Groups[2].Value] = long.Parse(m.Groups[1].Value);
        Assert.Equal(100_000, oracle.Count);

        var (disk, fs) = XfsImages.Open(img);
        long dirId;
        using (disk)
        using (fs)
        {
            dirId = XfsImages.Ino(fs, "/big");
            Assert.Equal("btree", XfsImages.ForkFormat(img, dirId));
            Assert.Contains(XfsImages.Bmap(img, dirId), e => e.Offset >= (1L << 36) / 4096);
            var listed = fs.List(dirId).ToDictionary(e => e.Name, e => e.Node.Id, StringComparer.Ordinal);
            Assert.Equal(oracle.OrderBy(kv => kv.Key, StringComparer.Ordinal), listed.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        }

        var (disk2, fresh) = XfsImages.Open(img);
        using (disk2)
        using (fresh)
        {
            var sw = Stopwatch.StartNew();
            foreach (var (name, ino) in oracle) Assert.Equal(ino, fresh.Lookup(dirId, name)?.Id);
            Assert.Null(fresh.Lookup(dirId, "big_directory_entry_number_100001"));
            Assert.Null(fresh.Lookup(dirId, "big_directory_entry_number_0"));
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"100,000 lookups took {sw.Elapsed}");
        }
    }

    /// <summary>Inode numbers above 2^32 (AGs 2 and 3 of a 3 TiB volume): the root's short form holds 8-byte numbers.</summary>
    [Fact]
    public void Inode_numbers_above_2_pow_32_match_the_kernel_mount()
    {
        string img = Path.Combine(TestImages.Get("xfs-bigdir"), "inode64.img");
        Assert.Contains("i8count = 2", XfsImages.XfsDb(img, "inode 128", "print u3.sfdir3.hdr.i8count"));
        var expected = Ext.ExtOracle.FromKernel(img);
        var (disk, fs) = XfsImages.Open(img);
        using (disk)
        using (fs)
        {
            Ext.ExtOracle.AssertSame(expected, Ext.ExtOracle.FromReader(fs));
            Assert.Contains(fs.List(fs.RootId), e => e.Node.Id > uint.MaxValue);
            Assert.True(XfsImages.Ino(fs, "/d/file") > uint.MaxValue);
            Assert.Empty(fs.Warnings);
        }
    }

    /// <summary>`xfs_db ls` lines: "offset inode type hash namelen name (good)".</summary>
    [GeneratedRegex(@"^\s*\d+\s+(\d+)\s+\S+\s+0x[0-9a-f]+\s+\d+\s+(\S+)\s+\(good\)", RegexOptions.Multiline)]
    private static partial Regex LsLine();
}
