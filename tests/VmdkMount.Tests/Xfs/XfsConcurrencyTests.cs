using VmdkMount.Core.FileSystems;
using VmdkMount.Tests.Ext;

namespace VmdkMount.Tests.Xfs;

/// <summary>FUSE calls from many threads: one reader, cold caches, lookups, listings and reads at once give what one thread gets.</summary>
public class XfsConcurrencyTests
{
    [Fact]
    public void Concurrent_lookups_lists_and_reads_agree_with_a_sequential_pass()
    {
        string img = XfsImages.Image("v5_1k");
        string[] files = ["/contig_1m", "/frag_btree.bin", "/prealloc.bin", "/sparse.bin", "/node/node_entry_with_a_longer_name_77", "/deep/a/b/leaf.txt"];
        Dictionary<string, string> expected;
        var (disk, fs) = XfsImages.Open(img);
        using (disk)
        using (fs)
            expected = files.ToDictionary(f => f, f => ExtOracle.Sha256Reader(fs, fs.Stat(XfsImages.Ino(fs, f)), new byte[65536]));

        var (disk2, shared) = XfsImages.Open(img);
        using (disk2)
        using (shared)
        {
            var work = Enumerable.Range(0, 48).Select(i => files[i % files.Length]).ToArray();
            Parallel.ForEach(work, new ParallelOptions { MaxDegreeOfParallelism = 8 }, f =>
            {
                var node = shared.Stat(XfsImages.Ino(shared, f));
                Assert.Equal(expected[f], ExtOracle.Sha256Reader(shared, node, new byte[8192 + f.Length * 7]));
                Assert.Equal(3000, shared.List(XfsImages.Ino(shared, "/node")).Count());
                Assert.Equal(FsNodeType.File, shared.Lookup(XfsImages.Ino(shared, "/leaf"), "leaf_entry_name_1")?.Type);
            });
        }
    }
}
