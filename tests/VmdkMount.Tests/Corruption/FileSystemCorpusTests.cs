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

    [Fact]
    public void Ntfs_corpus()
    {
        string img = Path.Combine(TestImages.Get("ntfs-basic"), "basic.img");
        var results = FileSystemCorpus.Run(img, "ntfs", (intact, tree) =>
        {
            var s = new NtfsStructures(intact, tree);
            return CorpusSampler.Cases("ntfs basic", intact, s.Regions(), bigEndian: false, perKind: 16, mutationsPerRegion: 3).Concat(s.CrossLinksAndLoops("ntfs basic"));
        });
        FileSystemCorpus.AssertNoFindings("ntfs basic", results);
    }

    public static TheoryData<string> FatImages => ["fat12", "fat16", "fat32"];

    [Theory]
    [MemberData(nameof(FatImages))]
    public void Fat_corpus(string name)
    {
        string img = Path.Combine(TestImages.Get("fat-basic"), name + ".img");
        var results = FileSystemCorpus.Run(img, name, (intact, tree) =>
        {
            var s = new FatStructures(intact, tree);
            return CorpusSampler.Cases(name, intact, s.Regions(), bigEndian: false, perKind: 16, mutationsPerRegion: 3).Concat(s.CrossLinksAndLoops(name));
        });
        FileSystemCorpus.AssertNoFindings(name, results);
    }

    [Fact]
    public void ExFat_corpus()
    {
        string img = Path.Combine(TestImages.Get("fat-exfat"), "exfat.img");
        var results = FileSystemCorpus.Run(img, "exfat", (intact, tree) =>
        {
            var s = new ExFatStructures(intact, tree);
            return CorpusSampler.Cases("exfat", intact, s.Regions(), bigEndian: false, perKind: 16, mutationsPerRegion: 3).Concat(s.CrossLinksAndLoops("exfat"));
        });
        FileSystemCorpus.AssertNoFindings("exfat", results);
    }

    public static TheoryData<string, string> XfsImages => new()
    {
        { "xfs-basic", "v4" },
        { "xfs-basic", "v5_4k" },
        { "xfs-xattr", "v5_4k" },
        { "xfs-xattr", "v5_1k" },
    };

    [Theory]
    [MemberData(nameof(XfsImages))]
    public void Xfs_corpus(string set, string name)
    {
        string img = Path.Combine(TestImages.Get(set), name + ".img");
        string label = $"xfs {set} {name}";
        var results = FileSystemCorpus.Run(img, "xfs", (intact, tree) =>
        {
            var s = new XfsStructures(intact, tree);
            return CorpusSampler.Cases(label, intact, s.Regions(), bigEndian: true, perKind: 12, mutationsPerRegion: 3).Concat(s.CrossLinksAndLoops(label));
        });
        FileSystemCorpus.AssertNoFindings(label, results);
    }
}
