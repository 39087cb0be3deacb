using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// The corruption corpus of every filesystem reader: real images (made by mke2fs, mkntfs, mkfs.fat, mkfs.exfat,
/// mkfs.xfs), their metadata found by walking them, corrupted in memory by seeded flips, field overwrites, wipes,
/// cuts, cross-links and loops. Every case opens, lists, reads and checks to success or a typed error naming the
/// volume, within a time and memory bound, and every file the corruption did not touch reads as in the intact image.
/// </summary>
[Collection("Corruption corpus")]
public sealed class FileSystemCorpusTests
{
    public static TheoryData<string> ExtImages => ["ext2_1k", "ext3_4k", "ext4_4k", "ext4_inline"];

    [Theory]
    [MemberData(nameof(ExtImages))]
    public void Ext_corpus(string name)
    {
        string img = Path.Combine(TestImages.Get("ext-basic"), name + ".img");
        var results = FileSystemCorpus.Run(img, "ext4", (intact, tree) =>
        {
            var s = new ExtStructures(intact, tree);
            return CorpusSampler.Cases(name, intact, s.Regions(), bigEndian: false, perKind: 12, mutationsPerRegion: 3).Concat(s.CrossLinksAndLoops(name));
        });
        FileSystemCorpus.AssertNoFindings(name, results);
    }
}
