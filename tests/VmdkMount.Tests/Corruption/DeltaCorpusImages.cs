using VmdkMount.Tests.Infrastructure;
using VmdkMount.Tests.Vmdk.Writers;
using static VmdkMount.Tests.Vmdk.Writers.DeltaTestKit;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// COWD and SEsparse links for the corpus. No tool at hand writes these formats (qemu-img reads them only), so they
/// come from the test writers that TestWriterProofTests holds to qemu's reading, on the qemu-made base of
/// images/vmdk-deltas-bases.sh; made once per machine under build/corpus (the writers are deterministic).
/// </summary>
public static class DeltaCorpusImages
{
    public sealed record Delta(string Top, string DeltaFile, List<MetadataRegion> Regions);

    private static readonly Lazy<(Delta Cowd, Delta SeSparse)> Made = new(Make, LazyThreadSafetyMode.ExecutionAndPublication);

    public static Delta Cowd => Made.Value.Cowd;
    public static Delta SeSparse => Made.Value.SeSparse;

    private static (Delta, Delta) Make()
    {
        string dir = Path.Combine(RepoPaths.Root, "build", "corpus", "deltas");
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        string parent = DeltaChainBuilder.CopyBase(dir);
        long capacitySectors = DeltaChainBuilder.CapacitySectors;

        var cowd = new CowdWriter((uint)capacitySectors, 1);
        long grainBytes = cowd.GrainBytes;
        var cowdGrains = new long[] { 0, 1, 5, 4095, 4096, 4100, capacitySectors - 1 };
        foreach (long g in cowdGrains) cowd.AddGrain(g, Pattern(cowd.GrainBytes, 1000 + (int)g));
        string cowdFile = Path.Combine(dir, "cowd-delta.vmdk");
        var cl = cowd.Write(cowdFile);
        string cowdTop = Path.Combine(dir, "cowd.vmdk");
        File.WriteAllText(cowdTop, CowdWriter.Descriptor("cowd-delta.vmdk", capacitySectors, 0x10000001, DeltaChainBuilder.ReadCid(parent), Path.GetFileName(parent)));
        var cowdRegions = new List<MetadataRegion>
        {
            new("COWD header", 0, 2048, Touch.All),
            new("COWD grain directory", cl.GdSector * 512L, (int)cl.NumGdEntries * 4, Touch.All),
        };
        foreach (var (gdi, gt) in cl.GtSectorByGdi)
            cowdRegions.Add(new($"COWD grain table {gdi}", gt * 512L, CowdWriter.EntriesPerGt * 4, Touch.OfRange(gdi * CowdWriter.EntriesPerGt * grainBytes, CowdWriter.EntriesPerGt * grainBytes)));
        foreach (long g in cowdGrains)
            cowdRegions.Add(new("COWD grain table entry", cl.GtSectorByGdi[g / CowdWriter.EntriesPerGt] * 512L + g % CowdWriter.EntriesPerGt * 4, 4, Touch.OfRange(g * grainBytes, grainBytes)));

        var se = new SeSparseWriter(capacitySectors);
        var seGrains = new long[] { 0, 3, 4096, 4097, 8000 };
        long slot = 0;
        foreach (long g in seGrains) se.AddData(g, Pattern(SeSparseWriter.GrainBytes, 2000 + (int)g), slot++);
        se.AddZero(10).AddUnmapped(11);
        string seFile = Path.Combine(dir, "se-sesparse.vmdk");
        var sl = se.Write(seFile);
        string seTop = Path.Combine(dir, "se.vmdk");
        File.WriteAllText(seTop, SeSparseWriter.Descriptor("se-sesparse.vmdk", capacitySectors, 0x20000001, DeltaChainBuilder.ReadCid(parent), Path.GetFileName(parent)));
        var seRegions = new List<MetadataRegion>
        {
            new("SEsparse constant header", 0, 512, Touch.All),
            new("SEsparse volatile header", sl.VolatileSector * 512, 512, Touch.All),
            new("SEsparse grain directory", sl.GdSector * 512, (int)Math.Min(sl.GdSectors * 512, 4096), Touch.All),
        };
        foreach (long g in seGrains.Concat([10L, 11L]))
            seRegions.Add(new("SEsparse grain table entry", sl.GteOffset(g), 8, Touch.OfRange(g * SeSparseWriter.GrainBytes, SeSparseWriter.GrainBytes)));
        return (new Delta(cowdTop, cowdFile, cowdRegions), new Delta(seTop, seFile, seRegions));
    }
}
