using VmdkMount.Core.FileSystems;
using VmdkMount.Tests.Infrastructure;
using static VmdkMount.Tests.Fat.FatTestSupport;

namespace VmdkMount.Tests.Fat;

/// <summary>An exFAT image made by mkfs.exfat and filled through exfat-fuse, read by us and by an exfat-fuse mount.</summary>
public class ExFatOracleTests
{
    private const byte StreamExtension = 0xC0;
    private const byte NoFatChain = 0x02;

    private static string ExFatImage => Image("fat-exfat", "exfat.img");

    [Theory]
    [InlineData("exfat.img")]
    [InlineData("exfat-4k.img")]
    public void Every_file_reads_like_the_exfat_fuse_mount(string file)
    {
        string image = Image("fat-exfat", file);
        string before = Hashing.Sha256File(image);
        Dictionary<string, string> expected;
        using (var mount = new ExFatFuseMount(image))
            expected = DescribeHost(mount.Dir);
        using var opened = new Opened(image, exFat: true);
        Assert.True(expected.Count > 1000, $"oracle listed only {expected.Count} entries");
        AssertSameTree(expected, Describe(opened.Fs));
        Assert.Equal(before, Hashing.Sha256File(image));
    }

    [Theory]
    [InlineData("exfat.img", "EXVOL")]
    [InlineData("exfat-4k.img", "BIG4K")]
    public void Label_kind_and_case_insensitive_lookup(string file, string label)
    {
        using var opened = new Opened(Image("fat-exfat", file), exFat: true);
        var fs = opened.Fs;
        Assert.Equal("exfat", fs.Kind);
        Assert.Equal(label, fs.Label);
        Assert.Empty(fs.Warnings);
        foreach (var item in Walk(fs).Where(i => !i.Path.StartsWith("/many/") || i.Path.EndsWith("7 with a longer name.txt")))
        {
            Assert.Equal(item.Node.Id, fs.Lookup(item.ParentId, item.Name)?.Id);
            Assert.Equal(item.Node.Id, fs.Lookup(item.ParentId, item.Name.ToUpperInvariant())?.Id);
            Assert.Equal(item.Node.Id, fs.Lookup(item.ParentId, item.Name.ToLowerInvariant())?.Id);
        }
        Assert.NotNull(fs.Lookup(fs.RootId, "A VERY LONG FILE NAME WITH SPACES AND ÜNÏCÖDÉ.DOCUMENT.TXT"));
        Assert.Null(fs.Lookup(fs.RootId, "missing.txt"));
        Assert.Equal(1000, fs.List(fs.Lookup(fs.RootId, "many")!.Id).Count());
    }

    [Fact]
    public void Contiguous_files_and_dirs_are_NoFatChain_and_grown_ones_follow_the_FAT()
    {
        // The node id is the byte offset of the file entry; the stream extension is the next entry.
        string image = ExFatImage;
        using var opened = new Opened(image, exFat: true);
        var fs = opened.Fs;
        byte StreamFlags(string name)
        {
            var node = fs.Lookup(fs.RootId, name)!;
            var stream = ReadBytes(image, node.Id + 32, 2);
            Assert.Equal(StreamExtension, stream[0]);
            return stream[1];
        }
        Assert.NotEqual(0, StreamFlags("contig.bin") & NoFatChain);
        Assert.NotEqual(0, StreamFlags("long40M.bin") & NoFatChain);
        Assert.Equal(0, StreamFlags("fragA.bin") & NoFatChain);
        Assert.Equal(0, StreamFlags("fragB.bin") & NoFatChain);
        Assert.Equal(0, StreamFlags("many") & NoFatChain);            // a 160 KiB directory grown between files
        Assert.NotEqual(0, StreamFlags("Sub_Directory_Long") & NoFatChain);
        Assert.Equal(40L << 20, fs.Lookup(fs.RootId, "long40M.bin")!.Size);
    }
}
