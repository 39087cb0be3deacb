using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;
using VmdkMount.Tests.Vmdk.Writers;
using static VmdkMount.Tests.Vmdk.Writers.DeltaTestKit;

namespace VmdkMount.Tests.Vmdk;

/// <summary>
/// The one contract every extent keeps (<see cref="IExtent.ReadData"/>): any range that is data throughout reads in
/// one call, however many <see cref="IExtent.Map"/> runs, grains and grain tables it spans. The link relies on it: it
/// hands each extent its part of a merged data run and never splits it per run.
/// </summary>
public sealed class ExtentContractTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("extent-contract");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Reads [start, end) in one call and proves it longer than one Map run and equal to <paramref name="expected"/>.</summary>
    private static void AssertOneCallReadsWholeRun(IExtent extent, long start, long end, Func<long, byte[]> grainData, long grainBytes)
    {
        Assert.Equal(GrainState.Data, extent.Map(start).State);
        Assert.True(extent.Map(start).Length < end - start, "the test range should span several Map runs");
        var buf = new byte[end - start];
        extent.ReadData(start, buf);
        for (long g = start / grainBytes; g < end / grainBytes; g++)
            Assert.True(grainData(g).AsSpan().SequenceEqual(buf.AsSpan((int)(g * grainBytes - start), (int)grainBytes)), $"grain {g} differs");
    }

    [Fact]
    public void Cowd_reads_a_data_range_across_map_runs_and_grain_tables_in_one_call()
    {
        // 512-byte grains: a Map run stops after 1,024 grains and at a table end (4,096 grains), the reads must not
        var w = new CowdWriter(capacitySectors: 3 * 4096, grainSectors: 1);
        var data = new Dictionary<long, byte[]>();
        for (long g = 0; g < 3000; g++) w.AddGrain(g, data[g] = Pattern(512, (int)g));
        for (long g = 4000; g < 4300; g++) w.AddGrain(g, data[g] = Pattern(512, (int)g));
        string path = Path.Combine(_dir, "d-delta.vmdk");
        w.Write(path);
        using var file = LocalSourceStore.OpenFile(path);
        using var extent = CowdExtent.Open(file, path);
        Assert.Equal(512, extent.GrainBytes);
        AssertOneCallReadsWholeRun(extent, 0, 3000 * 512, g => data[g], 512);
        AssertOneCallReadsWholeRun(extent, 4000 * 512, 4300 * 512, g => data[g], 512);
    }

    [Fact]
    public void SeSparse_reads_a_data_range_across_map_runs_and_grain_tables_in_one_call()
    {
        const int grainBytes = SeSparseWriter.GrainBytes;
        var w = new SeSparseWriter(capacitySectors: 3L * 4096 * SeSparseWriter.GrainSectors);
        var data = new Dictionary<long, byte[]>();
        long slot = 0;
        for (long g = 0; g < 1500; g++) w.AddData(g, data[g] = Pattern(grainBytes, (int)g), slot++);
        // stored out of order across the table boundary: the one call walks grain by grain
        for (long g = 4195; g >= 4000; g--) w.AddData(g, data[g] = Pattern(grainBytes, (int)g), slot++);
        string path = Path.Combine(_dir, "d-sesparse.vmdk");
        w.Write(path);
        using var file = LocalSourceStore.OpenFile(path);
        using var extent = SeSparseExtent.Open(file, path);
        Assert.Equal(grainBytes, extent.GrainBytes);
        AssertOneCallReadsWholeRun(extent, 0, 1500L * grainBytes, g => data[g], grainBytes);
        AssertOneCallReadsWholeRun(extent, 4000L * grainBytes, 4196L * grainBytes, g => data[g], grainBytes);
    }

    [Fact]
    public void Extents_without_grains_say_so_and_a_resized_extent_answers_for_its_inner_grains()
    {
        string path = Path.Combine(_dir, "flat.bin");
        File.WriteAllBytes(path, Pattern(8192, 7));
        using var file = LocalSourceStore.OpenFile(path);
        var flat = new FlatExtent(file, path, 0, 8192);
        Assert.Equal(0, flat.GrainBytes);
        Assert.Equal(0, new ZeroExtent(512).GrainBytes);
        Assert.Equal(0, new NoAccessExtent("x", 512).GrainBytes);

        var w = new CowdWriter(capacitySectors: 16, grainSectors: 1);
        for (long g = 0; g < 16; g++) w.AddGrain(g, Filled(512, (byte)(g + 1)));
        string delta = Path.Combine(_dir, "small-delta.vmdk");
        w.Write(delta);
        using var deltaFile = LocalSourceStore.OpenFile(delta);
        var sized = new SizedExtent(CowdExtent.Open(deltaFile, delta), 24 * 512);
        Assert.Equal(512, sized.GrainBytes);
        // the whole inner data run in one call, then the part past the inner end reads as zeros (Map says Zero)
        var buf = new byte[16 * 512];
        sized.ReadData(0, buf);
        for (int g = 0; g < 16; g++) Assert.Equal((byte)(g + 1), buf[g * 512 + 100]);
        Assert.Equal(GrainState.Zero, sized.Map(16 * 512).State);
        var tail = Filled(8 * 512, 0xEE);
        sized.ReadData(16 * 512, tail);
        Assert.All(tail, b => Assert.Equal(0, b));
        sized.Dispose();
    }
}
