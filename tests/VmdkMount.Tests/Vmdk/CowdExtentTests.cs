using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;
using VmdkMount.Tests.Vmdk.Writers;
using static VmdkMount.Tests.Vmdk.Writers.DeltaTestKit;

namespace VmdkMount.Tests.Vmdk;

public class CowdExtentTests
{
    private const uint ParentCid = 0x1234abcd;

    /// <summary>
    /// A vmfs flat parent full of random bytes and a COWD child with contiguous runs, scattered grains stored out of
    /// order, grain 4097 (second grain table), the last grain, and absent grain tables.
    /// </summary>
    private static (string Dir, string Descriptor, string Delta, string ParentFlat) MakeChain(uint grainSectors, uint capacitySectors)
    {
        string dir = RepoPaths.NewScratch("cowd");
        var parentData = Pattern((int)capacitySectors * 512, seed: 1);
        VmdkDescriptorText.WriteVmfsBase(dir, "base", parentData, ParentCid);

        var w = new CowdWriter(capacitySectors, grainSectors);
        long grains = (capacitySectors + grainSectors - 1) / grainSectors;
        int gb = w.GrainBytes;
        int seed = 100;
        // a run of 20 contiguous grains at the start, stored in order (reads coalesce)
        for (long g = 0; g < Math.Min(20, grains); g++) w.AddGrain(g, Pattern(gb, seed++));
        // scattered grains stored in reverse order, so file order differs from virtual order
        foreach (long g in new long[] { grains - 1, 4097, 4096, 1000, 300, 301, 25 }.Where(g => g < grains && g >= 20).Distinct())
            w.AddGrain(g, Pattern(gb, seed++));
        // a grain whose data is all zeros is still this link's data, not the parent's
        if (grains > 50) w.AddGrain(50, new byte[gb]);
        string delta = Path.Combine(dir, "base-000001-delta.vmdk");
        w.Write(delta);
        string descriptor = Path.Combine(dir, "base-000001.vmdk");
        File.WriteAllText(descriptor, CowdWriter.Descriptor("base-000001-delta.vmdk", capacitySectors, 0x55aa55aa, ParentCid, "base.vmdk"));
        return (dir, descriptor, delta, Path.Combine(dir, "base-flat.vmdk"));
    }

    [Theory]
    [InlineData(1u, 16384u)]      // 512-byte grains (what ESX writes), 8 MiB = 4 grain tables
    [InlineData(8u, 16388u)]      // 4 KiB grains; capacity not a multiple of the grain: last grain partial
    [InlineData(128u, 8192u)]     // 64 KiB grains
    public void Cowd_delta_over_vmfs_parent_reads_like_qemu(uint grainSectors, uint capacitySectors)
    {
        var (dir, descriptor, delta, parentFlat) = MakeChain(grainSectors, capacitySectors);
        try
        {
            var before = Hashing.Snapshot(dir);
            string raw = QemuRaw(descriptor, dir);
            using (var file = LocalSourceStore.OpenFile(delta))
            using (var parent = LocalSourceStore.OpenFile(parentFlat))
            using (var extent = CowdExtent.Open(file, delta))
            {
                Assert.Equal((long)capacitySectors * 512, extent.Length);
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
    public void Cowd_map_reports_runs_to_grain_and_table_ends()
    {
        string dir = RepoPaths.NewScratch("cowd-map");
        try
        {
            var w = new CowdWriter(16384, 1);
            w.AddGrain(3, Pattern(512, 1)).AddGrain(4, Pattern(512, 2)).AddGrain(10, Pattern(512, 3)).AddGrain(4097, Pattern(512, 4));
            string delta = Path.Combine(dir, "d-delta.vmdk");
            w.Write(delta);
            using var file = LocalSourceStore.OpenFile(delta);
            using var e = CowdExtent.Open(file, delta);
            Assert.Equal(new ExtentRun(GrainState.Unallocated, 3 * 512), e.Map(0));
            Assert.Equal(new ExtentRun(GrainState.Unallocated, 2 * 512 - 100), e.Map(1 * 512 + 100));
            Assert.Equal(new ExtentRun(GrainState.Data, 2 * 512), e.Map(3 * 512));
            Assert.Equal(new ExtentRun(GrainState.Data, 1 * 512 - 7), e.Map(4 * 512 + 7));
            // a longer run is allowed (never past the next allocated grain), at least the grain itself is required
            var gap = e.Map(11 * 512);
            Assert.Equal(GrainState.Unallocated, gap.State);
            Assert.InRange(gap.Length, 512, (4096 - 11) * 512L);
            Assert.Equal(new ExtentRun(GrainState.Unallocated, 512), e.Map(4096 * 512));
            Assert.Equal(new ExtentRun(GrainState.Data, 512), e.Map(4097 * 512));
            // directory entries 2 and 3 are absent: both grain tables' ranges at once, clamped to the capacity
            Assert.Equal(new ExtentRun(GrainState.Unallocated, 2 * 4096L * 512), e.Map(2 * 4096L * 512));
            Assert.Equal(new ExtentRun(GrainState.Unallocated, 4097L * 512), e.Map(12287L * 512));
            Assert.Equal(new ExtentRun(GrainState.Unallocated, 512), e.Map(16383L * 512));
            var buf = new byte[1024];
            e.ReadData(3 * 512, buf);
            Assert.Equal(Pattern(512, 1).Concat(Pattern(512, 2)), buf);
            Assert.Throws<ContractViolationException>(() => e.ReadData(0, buf));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Cowd_unclean_shutdown_is_a_warning_not_an_error()
    {
        string dir = RepoPaths.NewScratch("cowd-unclean");
        try
        {
            var w = new CowdWriter(4096, 1) { UncleanShutdown = 1 };
            w.AddGrain(1, Pattern(512, 9));
            string delta = Path.Combine(dir, "u-delta.vmdk");
            w.Write(delta);
            using var file = LocalSourceStore.OpenFile(delta);
            using var e = CowdExtent.Open(file, delta);
            Assert.Contains(e.Warnings, s => s.Contains("uncleanShutdown") && s.Contains(delta));
            var buf = new byte[512];
            e.ReadData(512, buf);
            Assert.Equal(Pattern(512, 9), buf);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Cowd_grain_tables_are_cached_within_the_byte_budget_and_reads_allocate_nothing()
    {
        string dir = RepoPaths.NewScratch("cowd-cache");
        try
        {
            // 64 grain tables of 16 KiB each
            var w = new CowdWriter(64 * 4096, 1);
            for (long gdi = 0; gdi < 64; gdi++) w.AddGrain(gdi * 4096 + 7, Pattern(512, (int)gdi));
            string delta = Path.Combine(dir, "c-delta.vmdk");
            w.Write(delta);
            using var file = LocalSourceStore.OpenFile(delta);
            using var e = CowdExtent.Open(file, delta);
            var buf = new byte[512];
            for (long gdi = 0; gdi < 64; gdi++)
            {
                long off = (gdi * 4096 + 7) * 512;
                Assert.Equal(GrainState.Data, e.Map(off).State);
                e.ReadData(off, buf);
                Assert.Equal(Pattern(512, (int)gdi), buf);
            }
            Assert.True(Core.Caching.CacheBudget.Shared.UsedBytes <= Core.Caching.CacheBudget.Shared.CapacityBytes);
            // warm reads: no allocation per Map/ReadData
            long off0 = 7 * 512;
            e.Map(off0);
            e.ReadData(off0, buf);
            // The table cache is shared by the whole process, so a test running beside this one can evict the
            // table between warm-up and measurement; steady state is proven when one pass of 1,000 reads allocates nothing.
            Assert.Equal(0, Allocations.LeastOfPasses(() =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    e.Map(off0);
                    e.ReadData(off0, buf);
                }
            }));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Cowd_concurrent_reads_agree_with_a_single_thread()
    {
        var (dir, _, delta, parentFlat) = MakeChain(1, 16384);
        try
        {
            using var file = LocalSourceStore.OpenFile(delta);
            using var parent = LocalSourceStore.OpenFile(parentFlat);
            using var e = CowdExtent.Open(file, delta);
            var expected = new byte[e.Length];
            ReadFlat(e, 0, expected, parent);
            Parallel.For(0, 8, t =>
            {
                var rnd = new Random(t);
                var buf = new byte[4096];
                for (int i = 0; i < 500; i++)
                {
                    long off = rnd.NextInt64(0, e.Length - buf.Length);
                    ReadFlat(e, off, buf, parent);
                    Assert.True(buf.AsSpan().SequenceEqual(expected.AsSpan((int)off, buf.Length)), $"thread {t} offset {off}");
                }
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // ---- bad input ------------------------------------------------------------------------------------------

    private static readonly Func<IReadAt, string, IExtent> Open = CowdExtent.Open;

    /// <summary>A small good delta: 2 grain tables, grains 5, 6 and 4100.</summary>
    private static (string Dir, string Path, CowdWriter.Layout Layout) Good()
    {
        string dir = RepoPaths.NewScratch("cowd-bad");
        var w = new CowdWriter(8192, 1);
        w.AddGrain(5, Pattern(512, 1)).AddGrain(6, Pattern(512, 2)).AddGrain(4100, Pattern(512, 3));
        string path = Path.Combine(dir, "bad-delta.vmdk");
        var layout = w.Write(path);
        return (dir, path, layout);
    }

    public static TheoryData<string> HeaderCases => new()
    {
        "magic", "version", "grain0", "grain3", "grainHuge", "capacity0", "gdTooSmall", "gdAbsurd", "gdPastEof",
        "gdInHeader", "truncatedHeader", "empty",
    };

    [Theory]
    [MemberData(nameof(HeaderCases))]
    public void Cowd_bad_header_is_rejected_with_a_clear_error(string kind)
    {
        var (dir, path, _) = Good();
        try
        {
            switch (kind)
            {
                case "magic":
                    Patch(path, 0, "KOWD"u8);
                    AssertRejected<CorruptDataException>(path, Open, null, "bad magic");
                    break;
                case "version":
                    PatchU32(path, 4, 2);
                    AssertRejected<UnsupportedFeatureException>(path, Open, null, "COWD version 2");
                    break;
                case "grain0":
                    PatchU32(path, 16, 0);
                    AssertRejected<CorruptDataException>(path, Open, null, "grain size is 0");
                    break;
                case "grain3":
                    PatchU32(path, 16, 3);
                    AssertRejected<UnsupportedFeatureException>(path, Open, null, "grain size 3 sectors");
                    break;
                case "grainHuge":
                    PatchU32(path, 16, 1u << 30);
                    AssertRejected<UnsupportedFeatureException>(path, Open, null, "grain size 1073741824 sectors");
                    break;
                case "capacity0":
                    PatchU32(path, 12, 0);
                    AssertRejected<CorruptDataException>(path, Open, null, "capacity (numSectors) is 0");
                    break;
                case "gdTooSmall":
                    PatchU32(path, 12, uint.MaxValue); // 2 TiB needs 524288 entries, the file has 2
                    AssertRejected<CorruptDataException>(path, Open, null, "numGDEntries 2 is too small");
                    break;
                case "gdAbsurd":
                    PatchU32(path, 24, uint.MaxValue);
                    AssertRejected<UnsupportedFeatureException>(path, Open, null, "4294967295 grain-directory entries");
                    break;
                case "gdPastEof":
                    PatchU32(path, 20, 1_000_000);
                    AssertRejected<CorruptDataException>(path, Open, null, "runs past the end of the file");
                    break;
                case "gdInHeader":
                    PatchU32(path, 20, 1);
                    AssertRejected<CorruptDataException>(path, Open, null, "overlaps the header");
                    break;
                case "truncatedHeader":
                    File.WriteAllBytes(path, File.ReadAllBytes(path)[..1000]);
                    AssertRejected<CorruptDataException>(path, Open, null, "truncated");
                    break;
                case "empty":
                    File.WriteAllBytes(path, []);
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

    [Fact]
    public void Cowd_grain_table_past_eof_fails_on_use_and_check_reports_it()
    {
        var (dir, path, layout) = Good();
        try
        {
            PatchU32(path, layout.GdSector * 512L + 1 * 4, 1_000_000);
            var e = AssertRejected<CorruptDataException>(path, Open, x => x.Map(4100 * 512), "grain table at sector 1000000");
            Assert.Equal(layout.GdSector * 512L + 4, e.Offset);
            Assert.Contains("COWD grain directory entry 1", e.Message);
            AssertCheckReports(path, Open, "runs past the end of the file");
            // the other grain table still reads
            using var file = LocalSourceStore.OpenFile(path);
            using var x = CowdExtent.Open(file, path);
            Assert.Equal(GrainState.Data, x.Map(5 * 512).State);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Cowd_grain_table_in_header_is_corrupt()
    {
        var (dir, path, layout) = Good();
        try
        {
            PatchU32(path, layout.GdSector * 512L, 2);
            AssertRejected<CorruptDataException>(path, Open, x => x.Map(0), "points into the header");
            AssertCheckReports(path, Open, "points into the header");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Cowd_grain_past_eof_fails_on_read_and_check_reports_it()
    {
        var (dir, path, layout) = Good();
        try
        {
            long gte = layout.GtSectorByGdi[0] * 512L + 6 * 4;
            PatchU32(path, gte, 5_000_000);
            AssertRejected<CorruptDataException>(path, Open, x => x.ReadData(6 * 512, new byte[512]), "runs past the end of the file");
            AssertCheckReports(path, Open, "grain at sector 5000000 runs past the end of the file");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Cowd_grain_in_header_is_corrupt()
    {
        var (dir, path, layout) = Good();
        try
        {
            PatchU32(path, layout.GtSectorByGdi[0] * 512L + 5 * 4, 1);
            AssertRejected<CorruptDataException>(path, Open, x => x.ReadData(5 * 512, new byte[512]), "points into the header");
            AssertCheckReports(path, Open, "grain sector 1 points into the header");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Cowd_check_finds_grains_sharing_a_sector_and_grains_over_tables()
    {
        var (dir, path, layout) = Good();
        try
        {
            long gt0 = layout.GtSectorByGdi[0] * 512L;
            PatchU32(path, gt0 + 6 * 4, layout.GrainSectorByGrain[5]);
            AssertCheckReports(path, Open, $"grain at sector {layout.GrainSectorByGrain[5]} overlaps");
            PatchU32(path, gt0 + 6 * 4, layout.GtSectorByGdi[1] + 3);
            AssertCheckReports(path, Open, "overlaps other metadata or grains");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Cowd_truncated_file_fails_on_the_missing_grain_only()
    {
        var (dir, path, layout) = Good();
        try
        {
            // cut the last grain (grain 4100) in half
            using (var f = new FileStream(path, FileMode.Open, FileAccess.Write)) f.SetLength(layout.FileLength - 256);
            AssertRejected<CorruptDataException>(path, Open, x => x.ReadData(4100 * 512, new byte[512]), "COWD grain 4100");
            using var file = LocalSourceStore.OpenFile(path);
            using var e = CowdExtent.Open(file, path);
            var buf = new byte[1024];
            e.ReadData(5 * 512, buf);
            Assert.Equal(Pattern(512, 1).Concat(Pattern(512, 2)), buf);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Cowd_file_of_garbage_is_rejected_without_hanging()
    {
        string dir = RepoPaths.NewScratch("cowd-garbage");
        try
        {
            var data = Pattern(1 << 20, 42);
            "COWD"u8.CopyTo(data);
            string path = Path.Combine(dir, "garbage-delta.vmdk");
            File.WriteAllBytes(path, data);
            AssertRejected<VmdkMountException>(path, Open, x => { x.Check(); }, "COWD");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
