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
    /// <summary>Image set, image, reader kind: every reader, ext with and without extents, htree and inline data, XFS v4 and v5 with every attribute-fork form.</summary>
    public static TheoryData<string, string, string> Images => new()
    {
        { "ext-basic", "ext2_1k", "ext2" },
        { "ext-basic", "ext3_4k", "ext3" },
        { "ext-basic", "ext4_4k", "ext4" },
        { "ext-basic", "ext4_inline", "ext4" },
        { "ext-basic", "ext4_kernel", "ext4" },
        { "ntfs-basic", "basic", "ntfs" },
        { "fat-basic", "fat12", "fat12" },
        { "fat-basic", "fat16", "fat16" },
        { "fat-basic", "fat32", "fat32" },
        { "fat-exfat", "exfat", "exfat" },
        { "xfs-basic", "v4", "xfs" },
        { "xfs-basic", "v5_4k", "xfs" },
        { "xfs-xattr", "v5_4k", "xfs" },
        { "xfs-xattr", "v5_1k", "xfs" },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void Filesystem_corpus(string set, string name, string kind)
    {
        string img = Path.Combine(TestImages.Get(set), name + ".img");
        string label = $"{kind} {set}/{name}";
        var results = FileSystemCorpus.Run(img, kind, (intact, tree) => FileSystemCorpus.Generate(kind, label, intact, tree));
        FileSystemCorpus.AssertNoFindings(label, results);
    }
}
