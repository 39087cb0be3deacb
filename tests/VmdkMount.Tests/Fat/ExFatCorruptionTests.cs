using System.Buffers.Binary;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using static VmdkMount.Tests.Fat.FatTestSupport;

namespace VmdkMount.Tests.Fat;

/// <summary>Damaged exFAT volumes: typed errors naming the volume, structure and offset; no hang, no crash.</summary>
public class ExFatCorruptionTests
{
    private const int EntrySize = 32;

    private static string Pristine => Image("fat-exfat", "exfat.img");

    private static byte[] Set(string image, FsNode node)
    {
        int secondaries = ReadBytes(image, node.Id + 1, 1)[0];
        return ReadBytes(image, node.Id, EntrySize * (secondaries + 1));
    }

    /// <summary>Writes an entry set back with a correct set checksum (so only the intended damage remains).</summary>
    private static void WriteSetWithChecksum(string image, long offset, byte[] set)
    {
        ushort sum = 0;
        for (int i = 0; i < set.Length; i++)
            if (i is not (2 or 3)) sum = (ushort)(((sum & 1) << 15 | sum >> 1) + set[i]);
        BinaryPrimitives.WriteUInt16LittleEndian(set.AsSpan(2), sum);
        Patch(image, offset, set);
    }

    private static void WithCopy(Action<string> test)
    {
        string image = CopyToScratch(Pristine, "exfat-bad");
        try
        {
            test(image);
        }
        finally
        {
            DeleteScratch(image);
        }
    }

    private static FsNode Root(string image, string name)
    {
        using var opened = new Opened(image, exFat: true);
        return opened.Fs.Lookup(opened.Fs.RootId, name)!;
    }

    [Fact]
    public void Entry_set_checksum_mismatch_is_listed_but_its_data_refused() => WithCopy(image =>
    {
        var node = Root(image, "UPPER.TXT");
        var name = ReadBytes(image, node.Id + 2 * EntrySize + 2, 1);
        Patch(image, node.Id + 2 * EntrySize + 2, [(byte)(name[0] ^ 0x20)]);   // 'U' -> 'u', checksum left stale
        using var opened = new Opened(image, exFat: true);
        var fs = opened.Fs;
        var damaged = fs.Lookup(fs.RootId, "UPPER.TXT")!;
        var e = Assert.Throws<CorruptDataException>(() => fs.Read(damaged.Id, 0, new byte[16]));
        Assert.Contains("checksum", e.Message);
        Assert.Contains("exfat.img", e.Message);
        Assert.Equal(node.Id, e.Offset);
        Assert.Contains(fs.Warnings, w => w.Contains("checksum") && w.Contains(node.Id.ToString()));
        Assert.Equal(3, fs.Read(fs.Lookup(fs.RootId, "lower.txt")!.Id, 0, new byte[16]));
    });

    [Fact]
    public void Entry_set_without_stream_extension_is_skipped_with_a_warning() => WithCopy(image =>
    {
        var node = Root(image, "lower.txt");
        var set = Set(image, node);
        set[EntrySize] = 0xC1;
        WriteSetWithChecksum(image, node.Id, set);
        using var opened = new Opened(image, exFat: true);
        var fs = opened.Fs;
        Assert.Null(fs.Lookup(fs.RootId, "lower.txt"));
        Assert.NotNull(fs.Lookup(fs.RootId, "UPPER.TXT"));
        Assert.Contains(fs.Warnings, w => w.Contains("stream extension") && w.Contains((node.Id + EntrySize).ToString()));
    });

    [Theory]
    [InlineData("contig.bin", 0xFFFFFF00u, "leaves the cluster heap")]
    [InlineData("fragA.bin", 0xFFFFFF00u, "outside the cluster heap")]
    [InlineData("fragA.bin", 1u, "outside the cluster heap")]
    public void Stream_first_cluster_out_of_range_fails_that_file(string file, uint cluster, string message) => WithCopy(image =>
    {
        var node = Root(image, file);
        var set = Set(image, node);
        BinaryPrimitives.WriteUInt32LittleEndian(set.AsSpan(EntrySize + 20), cluster);
        WriteSetWithChecksum(image, node.Id, set);
        using var opened = new Opened(image, exFat: true);
        var fs = opened.Fs;
        var e = Assert.Throws<CorruptDataException>(() => fs.Read(fs.Lookup(fs.RootId, file)!.Id, 0, new byte[4096]));
        Assert.Contains(message, e.Message);
        Assert.Equal(3, fs.Read(fs.Lookup(fs.RootId, "lower.txt")!.Id, 0, new byte[16]));
    });

    [Fact]
    public void Bytes_past_ValidDataLength_read_as_zeros() => WithCopy(image =>
    {
        // exfat-fuse 1.3 ignores ValidDataLength, so the expectation is the spec's: data before it, zeros after
        byte[] original;
        using (var clean = new Opened(image, exFat: true))
        {
            var node = clean.Fs.Lookup(clean.Fs.RootId, "contig.bin")!;
            original = new byte[node.Size];
            Assert.Equal(original.Length, clean.Fs.Read(node.Id, 0, original));
            var set = Set(image, node);
            BinaryPrimitives.WriteUInt64LittleEndian(set.AsSpan(EntrySize + 8), 1_000_001);
            WriteSetWithChecksum(image, node.Id, set);
        }
        using var opened = new Opened(image, exFat: true);
        var fs = opened.Fs;
        var file = fs.Lookup(fs.RootId, "contig.bin")!;
        Assert.Equal(3_000_000, file.Size);
        var data = new byte[file.Size];
        Assert.Equal(data.Length, fs.Read(file.Id, 0, data));
        Assert.True(original.AsSpan(0, 1_000_001).SequenceEqual(data.AsSpan(0, 1_000_001)));
        Assert.True(data.AsSpan(1_000_001).IndexOfAnyExcept((byte)0) < 0);
        var tail = new byte[10];
        Assert.Equal(10, fs.Read(file.Id, 999_996, tail));
        Assert.Equal([.. original.AsSpan(999_996, 5), 0, 0, 0, 0, 0], tail);
    });

    [Fact]
    public void Subdirectory_pointing_at_its_parent_is_a_cross_link() => WithCopy(image =>
    {
        FsNode sub, nested;
        using (var clean = new Opened(image, exFat: true))
        {
            sub = clean.Fs.Lookup(clean.Fs.RootId, "Sub_Directory_Long")!;
            nested = clean.Fs.Lookup(sub.Id, "nested")!;
        }
        uint subCluster = BinaryPrimitives.ReadUInt32LittleEndian(Set(image, sub).AsSpan(EntrySize + 20));
        var set = Set(image, nested);
        BinaryPrimitives.WriteUInt32LittleEndian(set.AsSpan(EntrySize + 20), subCluster);
        WriteSetWithChecksum(image, nested.Id, set);
        using var opened = new Opened(image, exFat: true);
        var fs = opened.Fs;
        var parent = fs.Lookup(fs.RootId, "Sub_Directory_Long")!;
        var child = fs.Lookup(parent.Id, "nested")!;
        var e = Assert.Throws<CorruptDataException>(() => fs.List(child.Id).ToList());
        Assert.Contains("cross-linked", e.Message);
    });

    [Fact]
    public void FAT_loop_in_a_chained_file_is_reported() => WithCopy(image =>
    {
        var node = Root(image, "fragA.bin");
        uint first = BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(image, node.Id + EntrySize + 20, 4));
        var boot = ReadBytes(image, 0, 512);
        long fatOffset = (long)BinaryPrimitives.ReadUInt32LittleEndian(boot.AsSpan(80)) << boot[108];
        var v = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(v, first);
        Patch(image, fatOffset + first * 4L, v);
        using var opened = new Opened(image, exFat: true);
        var fs = opened.Fs;
        var e = Assert.Throws<CorruptDataException>(() => fs.Read(fs.Lookup(fs.RootId, "fragA.bin")!.Id, 0, new byte[2_000_000]));
        Assert.Contains("loops back", e.Message);
    });

    public static TheoryData<string, int, byte[], string> BrokenBootSectors => new()
    {
        { "name", 3, "EXFAT  X"u8.ToArray(), "EXFAT" },
        { "legacy BPB not zero", 20, [1], "legacy BPB" },
        { "sector shift 8", 108, [8], "bytes-per-sector shift" },
        { "cluster 64 MiB", 109, [17], "cluster size" },
        { "no FATs", 110, [0], "number of FATs" },
        { "no clusters", 92, [0, 0, 0, 0], "cluster count" },
        { "too many clusters", 92, [0, 0, 0, 0x10], "cannot describe" },
        { "volume shorter than heap", 72, [0, 0x10, 0, 0, 0, 0, 0, 0], "past the volume" },
        { "root cluster 1", 96, [1, 0, 0, 0], "root directory cluster" },
        { "FAT in boot region", 80, [2, 0, 0, 0], "boot regions" },
        { "revision 2", 105, [2], "revision" },
    };

    [Theory]
    [MemberData(nameof(BrokenBootSectors))]
    public void Broken_boot_sector_is_a_typed_error(string what, int offset, byte[] bytes, string message) => WithCopy(image =>
    {
        Patch(image, offset, bytes);
        var e = Assert.ThrowsAny<VmdkMountException>(() => new Opened(image, exFat: true).Dispose());
        Assert.Contains(message, e.Message);
        Assert.Contains("exfat.img", e.Message);
        Assert.NotNull(what);
    });

    [Fact]
    public void Boot_checksum_mismatch_and_dirty_flag_are_warnings() => WithCopy(image =>
    {
        Patch(image, 106, [0x02, 0x00]);        // VolumeDirty (not covered by the checksum)
        Patch(image, 400, [0x5A]);              // boot code byte (covered)
        using var opened = new Opened(image, exFat: true);
        Assert.Contains(opened.Fs.Warnings, w => w.Contains("not cleanly unmounted"));
        Assert.Contains(opened.Fs.Warnings, w => w.Contains("boot region checksum"));
    });

    [Fact]
    public void Random_damage_to_metadata_gives_typed_errors_only() => WithCopy(image =>
    {
        // boot region, FAT (sector 2048+) and the first clusters of the heap: damage lands across all of them
        var boot = ReadBytes(image, 0, 512);
        long heap = (long)BinaryPrimitives.ReadUInt32LittleEndian(boot.AsSpan(88)) << boot[108];
        FatCorruptionTests.FuzzMetadata(image, exFat: true, metadataBytes: (int)heap + 256 * 1024, iterations: 40);
    });
}
