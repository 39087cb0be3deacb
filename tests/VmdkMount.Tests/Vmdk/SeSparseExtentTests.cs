using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;
using VmdkMount.Tests.Vmdk.Writers;
using static VmdkMount.Tests.Vmdk.Writers.DeltaTestKit;

namespace VmdkMount.Tests.Vmdk;

public class SeSparseExtentTests
{
    private const uint ParentCid = 0x0badcafe;
    private const int GrainBytes = SeSparseWriter.GrainBytes;
    private const long CapacitySectors = 64L * 1024 * 1024 / 512; // 64 MiB = 4 grain tables of 16 MiB

    /// <summary>
    /// vmfs parent of random bytes; SEsparse child with allocated grains (slots 0.., 4097, contiguous runs),
    /// zero and unmapped grains over parent data, unallocated grains, one absent grain table (16-32 MiB) and one
    /// holding only zero entries.
    /// </summary>
    private static (string Dir, string Descriptor, string Delta, string ParentFlat, SeSparseWriter.Layout Layout) MakeChain()
    {
        string dir = RepoPaths.NewScratch("sesparse");
        VmdkDescriptorText.WriteVmfsBase(dir, "base", Pattern((int)(CapacitySectors * 512), seed: 2), ParentCid);
        var w = new SeSparseWriter(CapacitySectors);
        int seed = 1000;
        // grains 0..15 in slots 0..15 (contiguous in file: reads coalesce)
        for (long g = 0; g < 16; g++) w.AddData(g, Pattern(GrainBytes, seed++), slot: g);
        // grains stored out of order, one in slot 4097 (entry 0x3001000000000001: the swapped halves)
        w.AddData(20, Pattern(GrainBytes, seed++), slot: 4097);
        w.AddData(21, Pattern(GrainBytes, seed++), slot: 17);
        w.AddData(4097, Pattern(GrainBytes, seed++), slot: 16);
        w.AddData(4095, Pattern(GrainBytes, seed++), slot: 4096);
        w.AddData(3 * 4096 + 5, Pattern(GrainBytes, seed++), slot: 4095);
        w.AddData(CapacitySectors / 8 - 1, Pattern(GrainBytes, seed++), slot: 18);
        // zero and unmapped grains read as zeros even though the parent has data there
        w.AddZero(16).AddZero(17).AddUnmapped(18).AddUnmapped(4098).AddZero(4099);
        for (long g = 3 * 4096 + 100; g < 3 * 4096 + 200; g++) w.AddUnmapped(g);
        string delta = Path.Combine(dir, "base-000001-sesparse.vmdk");
        var layout = w.Write(delta);
        string descriptor = Path.Combine(dir, "base-000001.vmdk");
        File.WriteAllText(descriptor, SeSparseWriter.Descriptor("base-000001-sesparse.vmdk", CapacitySectors, 0x77777777, ParentCid, "base.vmdk"));
        return (dir, descriptor, delta, Path.Combine(dir, "base-flat.vmdk"), layout);
    }

    [Fact]
    public void SeSparse_allocated_entry_stores_the_grain_index_with_swapped_halves()
    {
        // the digest's worked example (checked against qemu there), independent of our writer and reader
        Assert.Equal(0x3001000000000001UL, SeSparseWriter.AllocatedEntry(4097));
        Assert.Equal(0x3001000000000001UL, SeSparseGrainTableEntry.Allocated(4097));
        Assert.Equal(4097, SeSparseGrainTableEntry.GrainIndex(0x3001000000000001UL));
        Assert.Equal(SeSparseGrainKind.Allocated, SeSparseGrainTableEntry.Kind(0x3001000000000001UL));
        Assert.Equal(SeSparseGrainKind.Zero, SeSparseGrainTableEntry.Kind(0x2000000000000000UL));
        Assert.Equal(SeSparseGrainKind.Unmapped, SeSparseGrainTableEntry.Kind(0x1000000000000000UL));
        Assert.Equal(SeSparseGrainKind.Unallocated, SeSparseGrainTableEntry.Kind(0));
        Assert.Equal(SeSparseGrainKind.Invalid, SeSparseGrainTableEntry.Kind(1));
        Assert.Equal(SeSparseGrainKind.Invalid, SeSparseGrainTableEntry.Kind(0x4000000000000000UL));
        for (long i = 0; i < 100_000; i += 997)
            Assert.Equal(i, SeSparseGrainTableEntry.GrainIndex(SeSparseWriter.AllocatedEntry(i)));
    }

    [Fact]
    public void SeSparse_delta_over_vmfs_parent_reads_like_qemu()
    {
        var (dir, descriptor, delta, parentFlat, _) = MakeChain();
        try
        {
            var before = Hashing.Snapshot(dir);
            string raw = QemuRaw(descriptor, dir);
            using (var file = LocalSourceStore.OpenFile(delta))
            using (var parent = LocalSourceStore.OpenFile(parentFlat))
            using (var extent = SeSparseExtent.Open(file, delta))
            {
                Assert.Equal(CapacitySectors * 512, extent.Length);
                Assert.Empty(extent.Warnings);
                Assert.Empty(extent.Check());
                AssertSameAsRaw(extent, parent, raw);
            }
            File.Delete(raw);
            Assert.Equal(before, Hashing.Snapshot(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SeSparse_map_distinguishes_data_zero_unmapped_and_unallocated()
    {
        var (dir, _, delta, _, _) = MakeChain();
        try
        {
            using var file = LocalSourceStore.OpenFile(delta);
            using var e = SeSparseExtent.Open(file, delta);
            Assert.Equal(new ExtentRun(GrainState.Data, 16L * GrainBytes), e.Map(0));
            Assert.Equal(new ExtentRun(GrainState.Data, 16L * GrainBytes - 100), e.Map(100));
            Assert.Equal(new ExtentRun(GrainState.Zero, 3L * GrainBytes), e.Map(16L * GrainBytes)); // zero, zero, unmapped
            Assert.Equal(new ExtentRun(GrainState.Unallocated, 1L * GrainBytes), e.Map(19L * GrainBytes));
            Assert.Equal(new ExtentRun(GrainState.Data, 2L * GrainBytes), e.Map(20L * GrainBytes));
            Assert.Equal(new ExtentRun(GrainState.Data, 1L * GrainBytes), e.Map(4097L * GrainBytes));
            Assert.Equal(new ExtentRun(GrainState.Zero, 2L * GrainBytes), e.Map(4098L * GrainBytes));
            // grain table 2 (16-32 MiB) is absent: its whole range at once
            Assert.Equal(new ExtentRun(GrainState.Unallocated, 4096L * GrainBytes), e.Map(2 * 4096L * GrainBytes));
            Assert.Equal(new ExtentRun(GrainState.Zero, 100L * GrainBytes), e.Map((3 * 4096L + 100) * GrainBytes));
            var buf = new byte[2 * GrainBytes];
            e.ReadData(20L * GrainBytes, buf);
            Assert.Equal(Pattern(GrainBytes, 1016).Concat(Pattern(GrainBytes, 1017)), buf);
            Assert.Throws<ContractViolationException>(() => e.ReadData(16L * GrainBytes, buf));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SeSparse_concurrent_reads_agree_with_a_single_thread_and_do_not_allocate()
    {
        var (dir, _, delta, parentFlat, _) = MakeChain();
        try
        {
            using var file = LocalSourceStore.OpenFile(delta);
            using var parent = LocalSourceStore.OpenFile(parentFlat);
            using var e = SeSparseExtent.Open(file, delta);
            var expected = new byte[e.Length];
            ReadFlat(e, 0, expected, parent);
            Parallel.For(0, 8, t =>
            {
                var rnd = new Random(t);
                var buf = new byte[8192];
                for (int i = 0; i < 500; i++)
                {
                    long off = rnd.NextInt64(0, e.Length - buf.Length);
                    ReadFlat(e, off, buf, parent);
                    Assert.True(buf.AsSpan().SequenceEqual(expected.AsSpan((int)off, buf.Length)), $"thread {t} offset {off}");
                }
            });
            var one = new byte[GrainBytes];
            e.Map(4097L * GrainBytes);
            e.ReadData(4097L * GrainBytes, one);
            // The table cache is process-wide (see Allocations.LeastOfPasses).
            Assert.Equal(0, Allocations.LeastOfPasses(() =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    e.Map(4097L * GrainBytes);
                    e.ReadData(4097L * GrainBytes, one);
                }
            }));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // ---- bad input ------------------------------------------------------------------------------------------

    private static readonly Func<IReadAt, string, IExtent> Open = SeSparseExtent.Open;

    /// <summary>A small good delta: 8 MiB, grains 1 (slot 0), 2 (slot 1), 3 zero, 4 unmapped.</summary>
    private static (string Dir, string Path, SeSparseWriter.Layout Layout) Good()
    {
        string dir = RepoPaths.NewScratch("sesparse-bad");
        var w = new SeSparseWriter(8L * 1024 * 1024 / 512);
        w.AddData(1, Pattern(GrainBytes, 1), 0).AddData(2, Pattern(GrainBytes, 2), 1).AddZero(3).AddUnmapped(4);
        string path = Path.Combine(dir, "bad-sesparse.vmdk");
        var layout = w.Write(path);
        return (dir, path, layout);
    }

    public static TheoryData<string> HeaderCases => new()
    {
        "magic", "version", "grainSize", "gtSize", "flags", "reserved3", "pad", "capacity0", "capacityOverflow",
        "gdTooSmall", "gdAbsurd", "gdPastEof", "regionOverflow", "volatileMagic", "replayJournal", "volatilePad",
        "volatilePastEof", "truncatedHeader",
    };

    [Theory]
    [MemberData(nameof(HeaderCases))]
    public void SeSparse_bad_header_is_rejected_with_a_clear_error(string kind)
    {
        var (dir, path, layout) = Good();
        try
        {
            long vol = layout.VolatileSector * 512;
            switch (kind)
            {
                case "magic":
                    PatchU64(path, 0, 0xCAFEBABFUL);
                    AssertRejected<CorruptDataException>(path, Open, null, "bad magic");
                    break;
                case "version":
                    PatchU64(path, 8, 0x0000000300000001UL);
                    AssertRejected<UnsupportedFeatureException>(path, Open, null, "SEsparse version 0x0000000300000001");
                    break;
                case "grainSize":
                    PatchU64(path, 24, 16);
                    AssertRejected<UnsupportedFeatureException>(path, Open, null, "grain size 16 sectors");
                    break;
                case "gtSize":
                    PatchU64(path, 32, 128);
                    AssertRejected<UnsupportedFeatureException>(path, Open, null, "grain table size 128 sectors");
                    break;
                case "flags":
                    PatchU64(path, 40, 1);
                    AssertRejected<UnsupportedFeatureException>(path, Open, null, "flags 0x0000000000000001");
                    break;
                case "reserved3":
                    PatchU64(path, 64, 5);
                    AssertRejected<UnsupportedFeatureException>(path, Open, null, "reserved field 3");
                    break;
                case "pad":
                    Patch(path, 400, [0x42]);
                    AssertRejected<UnsupportedFeatureException>(path, Open, null, "non-zero header padding at offset 400");
                    break;
                case "capacity0":
                    PatchU64(path, 16, 0);
                    AssertRejected<CorruptDataException>(path, Open, null, "capacity is 0");
                    break;
                case "capacityOverflow":
                    PatchU64(path, 16, 1UL << 60);
                    AssertRejected<CorruptDataException>(path, Open, null, "does not fit in a 64-bit byte count");
                    break;
                case "gdTooSmall":
                    PatchU64(path, 16, 1UL << 40); // 512 TiB needs 2^24 entries; the directory has 64
                    AssertRejected<CorruptDataException>(path, Open, null, "grain directory too small");
                    break;
                case "gdAbsurd":
                    PatchU64(path, 136, 1UL << 40);
                    AssertRejected<UnsupportedFeatureException>(path, Open, null, "grain-directory entries");
                    break;
                case "gdPastEof":
                    PatchU64(path, 128, 10_000_000);
                    AssertRejected<CorruptDataException>(path, Open, null, "grain directory (sector 10000000");
                    break;
                case "regionOverflow":
                    PatchU64(path, 144, ulong.MaxValue - 5);
                    AssertRejected<CorruptDataException>(path, Open, null, "grain tables region");
                    break;
                case "volatileMagic":
                    PatchU64(path, vol, 0xCAFECAFFUL);
                    AssertRejected<CorruptDataException>(path, Open, null, "SEsparse volatile header");
                    break;
                case "replayJournal":
                    PatchU64(path, vol + 24, 1);
                    AssertRejected<UnsupportedFeatureException>(path, Open, null, "dirty, journal replay needed");
                    break;
                case "volatilePad":
                    Patch(path, vol + 100, [1]);
                    AssertRejected<UnsupportedFeatureException>(path, Open, null, "non-zero volatile header padding");
                    break;
                case "volatilePastEof":
                    PatchU64(path, 80, 99_999_999);
                    AssertRejected<CorruptDataException>(path, Open, null, "SEsparse volatile header");
                    break;
                case "truncatedHeader":
                    File.WriteAllBytes(path, File.ReadAllBytes(path)[..300]);
                    AssertRejected<CorruptDataException>(path, Open, null, "truncated");
                    break;
                default:
                    throw new ArgumentException(kind);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public static TheoryData<string, ulong, string> BadDirectoryEntries => new()
    {
        { "nibble2", 0x2000000000000000UL, "invalid entry 0x2000000000000000" },
        { "lowTag", 0x1000000100000000UL, "invalid entry 0x1000000100000000" },
        { "noTag", 0x0000000000000001UL, "invalid entry 0x0000000000000001" },
        { "outsideRegion", 0x1000000000000005UL, "grain table index 5 is outside the grain-tables region" },
    };

    [Theory]
    [MemberData(nameof(BadDirectoryEntries))]
    public void SeSparse_bad_grain_directory_entry_is_corrupt(string name, ulong gde, string expected)
    {
        Assert.NotEmpty(name);
        var (dir, path, layout) = Good();
        try
        {
            PatchU64(path, layout.GdeOffset(0), gde);
            var e = AssertRejected<CorruptDataException>(path, Open, x => x.Map(GrainBytes), expected);
            Assert.Equal(layout.GdeOffset(0), e.Offset);
            Assert.Contains("SEsparse grain directory entry 0", e.Message);
            AssertCheckReports(path, Open, expected);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public static TheoryData<string, ulong, string> BadTableEntries => new()
    {
        { "type0NonZero", 0x0000000000000007UL, "invalid entry 0x0000000000000007" },
        { "type4", 0x4000000000000000UL, "invalid entry 0x4000000000000000" },
        { "typeF", 0xF000000000000001UL, "invalid entry 0xf000000000000001" },
    };

    [Theory]
    [MemberData(nameof(BadTableEntries))]
    public void SeSparse_bad_grain_table_entry_is_corrupt(string name, ulong gte, string expected)
    {
        Assert.NotEmpty(name);
        var (dir, path, layout) = Good();
        try
        {
            PatchU64(path, layout.GteOffset(2), gte);
            var e = AssertRejected<CorruptDataException>(path, Open, x => x.Map(2 * GrainBytes), expected);
            Assert.Equal(layout.GteOffset(2), e.Offset);
            AssertCheckReports(path, Open, expected);
            // the neighbours still read: the bad entry stops a run, it does not poison the table
            using var file = LocalSourceStore.OpenFile(path);
            using var x = SeSparseExtent.Open(file, path);
            Assert.Equal(new ExtentRun(GrainState.Data, GrainBytes), x.Map(GrainBytes));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SeSparse_grain_outside_the_grains_region_is_corrupt()
    {
        var (dir, path, layout) = Good();
        try
        {
            PatchU64(path, layout.GteOffset(2), SeSparseWriter.AllocatedEntry(1L << 40));
            AssertRejected<CorruptDataException>(path, Open, x => x.ReadData(2 * GrainBytes, new byte[GrainBytes]), "outside the grains region");
            AssertCheckReports(path, Open, "outside the grains region");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SeSparse_grain_past_eof_fails_on_read_and_check_reports_it()
    {
        var (dir, path, layout) = Good();
        try
        {
            using (var f = new FileStream(path, FileMode.Open, FileAccess.Write)) f.SetLength(layout.FileLength - 100);
            AssertRejected<CorruptDataException>(path, Open, x => x.ReadData(2 * GrainBytes, new byte[GrainBytes]), "SEsparse grain 2");
            AssertCheckReports(path, Open, "runs past the end of the file");
            using var file = LocalSourceStore.OpenFile(path);
            using var e = SeSparseExtent.Open(file, path);
            var buf = new byte[GrainBytes];
            e.ReadData(GrainBytes, buf);
            Assert.Equal(Pattern(GrainBytes, 1), buf);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SeSparse_check_finds_two_grains_in_one_slot_and_overlapping_regions()
    {
        var (dir, path, layout) = Good();
        try
        {
            PatchU64(path, layout.GteOffset(2), SeSparseWriter.AllocatedEntry(0));
            AssertCheckReports(path, Open, "grain slot 0 is also used by another entry");
            PatchU64(path, 160, (ulong)layout.GdSector); // free bitmap placed over the grain directory
            AssertCheckReports(path, Open, "free bitmap region");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SeSparse_file_of_garbage_is_rejected_without_hanging()
    {
        string dir = RepoPaths.NewScratch("sesparse-garbage");
        try
        {
            var data = Pattern(1 << 20, 43);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(data, SeSparseWriter.ConstMagic);
            string path = Path.Combine(dir, "garbage-sesparse.vmdk");
            File.WriteAllBytes(path, data);
            AssertRejected<VmdkMountException>(path, Open, x => { x.Check(); }, "SEsparse");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
