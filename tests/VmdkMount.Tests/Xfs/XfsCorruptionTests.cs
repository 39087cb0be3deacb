using System.Text.RegularExpressions;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Tests.Ext;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Xfs;

/// <summary>
/// Damaged copies of v5_4k (made with dd, or with `xfs_db -x write`, which keeps every CRC but the one under test
/// right): each fails with an error naming the structure and where it is, for that structure only; nothing hangs or
/// crashes, and the copy's bytes are unchanged by reading it.
/// </summary>
public sealed partial class XfsCorruptionTests : IDisposable
{
    private readonly string _scratch = RepoPaths.NewScratch("xfs-bad");

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private string Copy(string name = "v5_4k")
    {
        string copy = Path.Combine(_scratch, $"{name}-{Guid.NewGuid():N}.img");
        Tool.Run("cp", "--sparse=always", XfsImages.Image(name), copy);
        return copy;
    }

    private static void Poke(string image, long offset, byte[] bytes)
    {
        using var f = new FileStream(image, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(bytes);
    }

    private static long Ino(string image, string path)
    {
        var (disk, fs) = XfsImages.Open(image);
        using (disk)
        using (fs)
            return XfsImages.Ino(fs, path);
    }

    /// <summary>Runs <paramref name="read"/> on a fresh reader and proves the image was not written.</summary>
    private static void ReadUnchanged(string image, Action<IFileSystem> read)
    {
        string before = Hashing.Sha256File(image);
        var (disk, fs) = XfsImages.Open(image);
        using (disk)
        using (fs)
            read(fs);
        Assert.Equal(before, Hashing.Sha256File(image));
    }

    [Fact]
    public void Bad_superblock_magic_refuses_the_volume_naming_the_superblock()
    {
        string img = Copy();
        Poke(img, 0, "XFSX"u8.ToArray());
        var e = Assert.Throws<CorruptDataException>(() => XfsImages.Open(img));
        Assert.Contains("XFS superblock", e.Message);
        Assert.Contains("bad magic", e.Message);
    }

    [Fact]
    public void Bad_superblock_crc_refuses_the_volume()
    {
        string img = Copy();
        Poke(img, 108, "CHANGED"u8.ToArray()); // the label, inside the CRC
        var e = Assert.Throws<CorruptDataException>(() => XfsImages.Open(img));
        Assert.Contains("XFS superblock", e.Message);
        Assert.Contains("CRC mismatch", e.Message);
    }

    [Fact]
    public void Bad_crc_on_a_directory_block_fails_that_directory_only()
    {
        string img = Copy();
        long leaf = Ino(img, "/leaf");
        var first = XfsImages.Bmap(img, leaf).First(e => e.Offset == 0);
        long byteOffset = long.Parse(ByteLine().Match(XfsImages.XfsDb(img, $"convert fsb {first.StartBlock} byte")).Groups[1].Value);
        Poke(img, byteOffset + 200, [0x5A]);
        ReadUnchanged(img, fs =>
        {
            var e = Assert.Throws<CorruptDataException>(() => fs.List(leaf).ToList());
            Assert.Contains($"directory inode {leaf} block 0", e.Message);
            Assert.Contains("CRC mismatch", e.Message);
            Assert.Equal(byteOffset + 4, e.Offset);
            Assert.Equal(60, fs.List(XfsImages.Ino(fs, "/blk")).Count());
            Assert.Equal(3000, fs.List(XfsImages.Ino(fs, "/node")).Count());
            Assert.Contains(fs.List(fs.RootId), x => x.Name == "leaf");
            var f = fs.Lookup(fs.RootId, "contig_1m")!;
            Assert.Equal(1048576, fs.Read(f.Id, 0, new byte[f.Size]));
        });
    }

    [Fact]
    public void Extent_beyond_the_filesystem_fails_that_file_only()
    {
        string img = Copy();
        long ino = Ino(img, "/contig_1m");
        Tool.Run("xfs_db", "-x", "-c", $"inode {ino}", "-c", "write u3.bmx[0].startblock 99999999", img);
        ReadUnchanged(img, fs =>
        {
            var e = Assert.Throws<CorruptDataException>(() => fs.Read(ino, 0, new byte[4096]));
            Assert.Contains($"inode {ino} extent list", e.Message);
            Assert.Contains("outside the filesystem", e.Message);
            Assert.Throws<CorruptDataException>(() => ((IFileAllocationMap)fs).AllocatedRanges(ino, 0, 4096).ToList());
            var other = fs.Lookup(fs.RootId, "sparse.bin")!;
            Assert.Equal(4096, fs.Read(other.Id, 10485760, new byte[4096]));
        });
    }

    [Fact]
    public void Bmbt_cycle_is_caught_not_followed()
    {
        string img = Copy();
        long ino = Ino(img, "/frag_btree.bin");
        var ptrs = XfsImages.XfsDb(img, $"inode {ino}", "print u3.bmbt.ptrs");
        var first = Regex.Match(ptrs, @"ptrs\[1-\d+\] = 1:(\d+)").Groups[1].Value;
        Assert.NotEmpty(first);
        Tool.Run("xfs_db", "-x", "-c", $"inode {ino}", "-c", $"write u3.bmbt.ptrs[2] {first}", img);
        ReadUnchanged(img, fs =>
        {
            var e = Assert.Throws<CorruptDataException>(() => fs.Read(ino, 0, new byte[4096]));
            Assert.Contains($"inode {ino} extent btree", e.Message);
            Assert.Contains("a second time", e.Message);
        });
    }

    [Fact]
    public void Bmbt_child_of_the_wrong_level_is_caught()
    {
        string img = Copy("v5_1k");
        long ino = Ino(img, "/frag_btree.bin");
        var root = XfsImages.XfsDb(img, $"inode {ino}", "print u3.bmbt.ptrs");
        // one pointer prints as "ptrs[1] = N", several as "ptrs[1-4] = 1:N 2:M ..."
        string child = Regex.Match(root, @"ptrs\[1(?:-\d+)?\] = (?:1:)?(\d+)").Groups[1].Value;
        Assert.NotEmpty(child);
        // the level-1 node's first pointer aimed at the level-1 node itself: a loop one level down
        Tool.Run("xfs_db", "-x", "-c", $"fsblock {child}", "-c", "type bmapbtd", "-c", $"write ptrs[1] {child}", img);
        ReadUnchanged(img, fs =>
        {
            var e = Assert.Throws<CorruptDataException>(() => fs.Read(ino, 0, new byte[1024]));
            Assert.Contains($"inode {ino} extent btree", e.Message);
            Assert.Matches("expected 0|a second time", e.Message);
        });
    }

    [Fact]
    public void Truncated_image_opens_with_a_warning_and_fails_only_what_is_missing()
    {
        string img = Copy();
        Tool.Run("truncate", "-s", "150M", img);
        ReadUnchanged(img, fs =>
        {
            Assert.Contains(fs.Warnings, w => w.Contains("shorter than the filesystem", StringComparison.Ordinal));
            var root = fs.List(fs.RootId).ToDictionary(e => e.Name, e => e.Node);
            // /node lives in AG 3 (inode 786560, past 225 MiB): listed as damaged, the rest as usual
            Assert.Equal(FsNodeType.Other, root["node"].Type);
            Assert.Contains(fs.Warnings, w => w.Contains($"inode {root["node"].Id}", StringComparison.Ordinal) && w.Contains("truncated", StringComparison.Ordinal));
            var e = Assert.Throws<CorruptDataException>(() => fs.List(root["node"].Id).ToList());
            Assert.Contains("truncated", e.Message);
            Assert.Equal(3, fs.List(root["sf"].Id).Count());
            Assert.Equal(5, fs.Read(root["past"].Id, 0, new byte[10]));
        });
    }

    [Fact]
    public void Check_reports_a_damaged_ag_header()
    {
        string img = Copy();
        var sb = XfsImages.XfsDb(img, "sb 0", "print agblocks blocksize sectsize");
        long agblocks = long.Parse(Regex.Match(sb, @"agblocks = (\d+)").Groups[1].Value);
        long bs = long.Parse(Regex.Match(sb, @"blocksize = (\d+)").Groups[1].Value);
        long sect = long.Parse(Regex.Match(sb, @"sectsize = (\d+)").Groups[1].Value);
        Poke(img, 2 * agblocks * bs + 2 * sect + 40, [0x12]); // AG 2's AGI, inside its CRC
        ReadUnchanged(img, fs =>
        {
            var problems = ((IFileSystemCheck)fs).Check(CancellationToken.None).ToList();
            var p = Assert.Single(problems);
            Assert.Equal("AG 2 AGI", p.Structure);
            Assert.Contains("CRC mismatch", p.Message);
            Assert.Empty(FileSystemTreeCheck.Walk(fs, 100_000, CancellationToken.None).Problems);
        });
        var r = OurCli.Run("check", img, "--raw-input");
        Assert.True(r.ExitCode == 1, r.StdOut + r.StdErr);
        Assert.Contains("AG 2 AGI", r.StdOut);
    }

    /// <summary>`xfs_db convert ... byte` prints "0xa68000 (10911744)".</summary>
    [GeneratedRegex(@"\((\d+)\)")]
    private static partial Regex ByteLine();
}
