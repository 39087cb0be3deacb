using VmdkMount.Tests.Infrastructure;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.FileSystems.Fat;
using static VmdkMount.Tests.Fat.FatTestSupport;

namespace VmdkMount.Tests.Fat;

/// <summary>Small decoders checked against values worked out by hand from the specification.</summary>
public class FatStructureTests
{
    // 2024-02-29: (2024-1980)<<9 | 2<<5 | 29 ; 12:34:56: 12<<11 | 34<<5 | 56/2
    private const ushort LeapDay2024 = 44 << 9 | 2 << 5 | 29;
    private const ushort HalfPastNoonish = 12 << 11 | 34 << 5 | 28;

    private static DateTime Utc(int y, int mo, int d, int h, int mi, int s, int ms = 0) =>
        new DateTime(y, mo, d, h, mi, s, ms, DateTimeKind.Utc);

    [Fact]
    public void Dos_date_time_with_10ms_creation_field()
    {
        Assert.Equal(Utc(2024, 2, 29, 12, 34, 56), FatTime.FromDos(LeapDay2024, HalfPastNoonish)!.Value.ToDateTime());
        Assert.Equal(Utc(2024, 2, 29, 12, 34, 57, 500), FatTime.FromDos(LeapDay2024, HalfPastNoonish, 150)!.Value.ToDateTime());
        Assert.Equal(Utc(1980, 1, 1, 0, 0, 0), FatTime.FromDos(0 << 9 | 1 << 5 | 1, 0)!.Value.ToDateTime());
        Assert.Equal(Utc(2107, 12, 31, 23, 59, 58), FatTime.FromDos(127 << 9 | 12 << 5 | 31, 23 << 11 | 59 << 5 | 29)!.Value.ToDateTime());
        Assert.Null(FatTime.FromDos(0, HalfPastNoonish));
        Assert.Null(FatTime.FromDos(44 << 9 | 13 << 5 | 1, 0));          // month 13
        Assert.Null(FatTime.FromDos(45 << 9 | 2 << 5 | 29, 0));          // 2025-02-29
        Assert.Null(FatTime.FromDos(LeapDay2024, 24 << 11));             // 24 o'clock
    }

    [Fact]
    public void ExFat_timestamps_use_their_UTC_offset_when_valid()
    {
        uint stamp = (uint)LeapDay2024 << 16 | HalfPastNoonish;
        Assert.Equal(Utc(2024, 2, 29, 10, 34, 56), FatTime.FromExFat(stamp, 0, 0x80 | 0x08)!.Value.ToDateTime());    // UTC+2
        Assert.Equal(Utc(2024, 2, 29, 13, 34, 57), FatTime.FromExFat(stamp, 100, 0x80 | 0x7C)!.Value.ToDateTime()); // UTC-1
        Assert.Equal(Utc(2024, 2, 29, 12, 34, 56), FatTime.FromExFat(stamp, 0, 0x08)!.Value.ToDateTime());         // offset not valid
    }

    [Fact]
    public void Up_case_table_identity_runs_and_mappings()
    {
        // 0xFFFF 0x0061: code points 0..0x60 map to themselves; then 'a' -> 'A', 'b' -> 'B'; the rest is invariant
        byte[] table = [0xFF, 0xFF, 0x61, 0x00, 0x41, 0x00, 0x42, 0x00];
        var upCase = ExFatUpCaseTable.Decode(table);
        Assert.Equal("AB?C", upCase.Fold("ab?c"));
        Assert.Equal("ÄÖ", upCase.Fold("äö"));
    }

    [Fact]
    public void Chain_repeat_is_found_where_the_loop_closes()
    {
        var b = new ClusterRunsBuilder();
        foreach (uint c in new uint[] { 10, 11, 12, 40, 41, 11 }) b.Add(c);
        Assert.Equal(5, b.FirstRepeatIndex(out uint repeated));
        Assert.Equal(11u, repeated);
        var clean = new ClusterRunsBuilder();
        foreach (uint c in new uint[] { 10, 11, 30, 5, 6 }) clean.Add(c);
        Assert.Equal(-1, clean.FirstRepeatIndex(out _));
    }

    [Fact]
    public void Creation_time_10ms_field_and_access_date_are_read_from_the_entry()
    {
        string image = CopyToScratch(Image("fat-basic", "fat16.img"), "fat-ctime");
        try
        {
            long entry;
            using (var clean = new Opened(image, exFat: false))
                entry = clean.Fs.Lookup(clean.Fs.RootId, "UPPER.TXT")!.Id;
            // bytes 13..19: creation 10 ms, creation time, creation date, access date
            Patch(image, entry + 13, [150, HalfPastNoonish & 0xFF, HalfPastNoonish >> 8, LeapDay2024 & 0xFF, LeapDay2024 >> 8,
                LeapDay2024 & 0xFF, LeapDay2024 >> 8]);
            using var opened = new Opened(image, exFat: false);
            var node = opened.Fs.Lookup(opened.Fs.RootId, "upper.txt")!;
            Assert.Equal(Utc(2024, 2, 29, 12, 34, 57, 500), node.Created!.Value.ToDateTime());
            Assert.Equal(Utc(2024, 2, 29, 0, 0, 0), node.Accessed!.Value.ToDateTime());
            Assert.Equal(Utc(1999, 12, 31, 23, 59, 58), node.Modified!.Value.ToDateTime());
            Assert.Equal(FsNodeType.File, node.Type);
        }
        finally
        {
            DeleteScratch(image);
        }
    }
}

/// <summary>Many threads reading the same volume at once (as FUSE does) see the same bytes as one thread.</summary>
public class FatConcurrencyTests
{
    [Theory]
    [InlineData("fat-basic", "fat32.img", false)]
    [InlineData("fat-exfat", "exfat.img", true)]
    public void Parallel_reads_and_listings_agree_with_a_sequential_read(string set, string file, bool exFat)
    {
        using var opened = new Opened(Image(set, file), exFat);
        var fs = opened.Fs;
        var files = Walk(fs).Where(i => i.Node.Type == FsNodeType.File && i.Node.Size > 0).ToList();
        var expected = files.ToDictionary(i => i.Node.Id, i => Sha256(fs, i.Node));
        using var reopened = new Opened(Image(set, file), exFat);
        var fresh = reopened.Fs;
        var results = new System.Collections.Concurrent.ConcurrentDictionary<long, string>();
        Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = 8 }, item =>
        {
            // a fresh reader: directories are parsed and chains built concurrently, on demand
            var node = LookupPath(fresh, item.Path);
            Assert.Equal(item.Node.Id, node.Id);
            results[item.Node.Id] = Sha256(fresh, node);
        });
        Assert.Equal(expected.Count, results.Count);
        foreach (var (id, hash) in expected) Assert.Equal(hash, results[id]);
    }

    private static FsNode LookupPath(IFileSystem fs, string path)
    {
        var node = fs.Stat(fs.RootId);
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
            node = fs.Lookup(node.Id, part) ?? throw new InvalidOperationException(path);
        return node;
    }
}

/// <summary>Reading file data allocates nothing once a file's cluster runs are cached (the hot path of a mount).</summary>
public class FatAllocationTests
{
    [Theory]
    [InlineData("fat-basic", "fat32.img", false, "/large.bin")]
    [InlineData("fat-basic", "fat16.img", false, "/frag/BIGFRAG.BIN")]
    [InlineData("fat-exfat", "exfat.img", true, "/fragA.bin")]
    [InlineData("fat-exfat", "exfat.img", true, "/long40M.bin")]
    public void Steady_state_reads_allocate_nothing(string set, string file, bool exFat, string path)
    {
        using var opened = new Opened(Image(set, file), exFat);
        var fs = opened.Fs;
        var node = fs.Stat(fs.RootId);
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries)) node = fs.Lookup(node.Id, part)!;
        var buffer = new byte[65536];
        long ReadAll()
        {
            long total = 0;
            for (long off = 0; off < node.Size; off += buffer.Length) total += fs.Read(node.Id, off, buffer);
            return total;
        }
        Assert.Equal(node.Size, ReadAll());
        long read = 0;
        Assert.Equal(0, Allocations.LeastOfPasses(() => read = ReadAll()));
        Assert.Equal(node.Size, read);
    }
}

/// <summary>FAT chain walks over a hand-made FAT16 table.</summary>
public class FatTableTests
{
    private sealed class Bytes(byte[] data) : VmdkMount.Core.Transports.IReadAt
    {
        public long Length => data.Length;

        public int ReadAt(long offset, Span<byte> destination)
        {
            if (offset >= data.Length) return 0;
            int n = (int)Math.Min(destination.Length, data.Length - offset);
            data.AsSpan((int)offset, n).CopyTo(destination);
            return n;
        }
    }

    private const uint Clusters = 100;

    private static FatTable Fat16(params (uint Cluster, ushort Next)[] links)
    {
        var fat = new byte[FatTable.RequiredBytes(FatKind.Fat16, Clusters)];
        foreach (var (c, next) in links) System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(fat.AsSpan((int)c * 2), next);
        return new FatTable(new Bytes(fat), "test", Core.Caching.CacheBudget.Shared, 0, fat.Length, FatKind.Fat16, Clusters);
    }

    [Fact]
    public void Directory_chain_of_exactly_the_maximum_length_is_fine_one_more_is_not()
    {
        var fat = Fat16((2, 3), (3, 4), (4, 0xFFFF));
        var exact = fat.Chain(2, -1, 3, "dir", 0);
        Assert.Null(exact.Problem);
        Assert.Equal(3, exact.ValidClusters);
        var tooLong = fat.Chain(2, -1, 2, "dir", 0);
        Assert.Contains("longer than 2 clusters", tooLong.Problem);
    }

    [Fact]
    public void Loops_are_cut_where_the_chain_first_repeats()
    {
        // 2 -> 3 -> 50 -> 51 -> 3 (loop of three after one cluster)
        var fat = Fat16((2, 3), (3, 50), (50, 51), (51, 3));
        var dir = fat.Chain(2, -1, 1000, "dir", 0);
        Assert.Contains("loops back to cluster 3", dir.Problem);
        Assert.Equal(4, dir.ValidClusters);
        var file = fat.Chain(2, 1_000_000, -1, "file", 0);
        Assert.Equal(4, file.ValidClusters);
        Assert.True(file.TryMap(3, out uint c, out _) && c == 51);
        Assert.False(file.TryMap(4, out _, out _));
    }

    [Fact]
    public void File_chain_longer_than_its_size_is_cut_at_the_size()
    {
        var fat = Fat16((2, 3), (3, 4), (4, 5), (5, 0xFFFF));
        var runs = fat.Chain(2, 2, -1, "file", 0);
        Assert.Null(runs.Problem);
        Assert.Equal(2, runs.ValidClusters);
        Assert.Equal(1, runs.RunCount);
    }
}
