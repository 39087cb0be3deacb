using System.Buffers.Binary;

namespace VmdkMount.Tests.Vmdk.Writers;

/// <summary>
/// Test-only writer of ESXi SEsparse deltas in the layout of the digest (section 6) and of the real ESXi sample:
/// constant header, volatile header, journal header and journal, grain directory, grain-tables region, free
/// bitmap, back map, grains region. Grain tables are handed out in reverse order of their directory index and
/// grains go to the slot the test chooses, so a reader that confuses indices, sectors or the swapped halves of an
/// allocated entry reads the wrong bytes. Proven by qemu-img reading it.
/// </summary>
public sealed class SeSparseWriter
{
    public const int SectorSize = 512;
    public const int GrainSectors = 8;
    public const int GrainBytes = GrainSectors * SectorSize;
    public const int EntriesPerGt = 4096;
    public const int GtSectors = 64;

    public const ulong ConstMagic = 0x00000000CAFEBABEUL;
    public const ulong VolatileMagic = 0x00000000CAFECAFEUL;
    public const ulong Version = 0x0000000200000001UL;

    private abstract record Grain;
    private sealed record DataGrain(byte[] Data, long Slot) : Grain;
    private sealed record RawEntry(ulong Entry) : Grain;

    private readonly SortedDictionary<long, Grain> _grains = new();

    public SeSparseWriter(long capacitySectors) => CapacitySectors = capacitySectors;

    public long CapacitySectors { get; }

    public long NeededGdEntries => ((CapacitySectors + GrainSectors - 1) / GrainSectors + EntriesPerGt - 1) / EntriesPerGt;

    /// <summary>Where things landed (sectors), for tests that corrupt a file on purpose.</summary>
    public sealed record Layout(long VolatileSector, long GdSector, long GdSectors, long GtRegionSector, long GtRegionSectors,
        long GrainsSector, long GrainsSectors, IReadOnlyDictionary<long, long> GtIndexByGdi, long FileLength)
    {
        public long GdeOffset(long gdi) => GdSector * SectorSize + gdi * 8;
        public long GteOffset(long grain) =>
            (GtRegionSector + GtIndexByGdi[grain / EntriesPerGt] * GtSectors) * SectorSize + grain % EntriesPerGt * 8;
    }

    public SeSparseWriter AddData(long grain, byte[] data, long slot)
    {
        if (data.Length != GrainBytes) throw new ArgumentException($"grain data must be {GrainBytes} bytes");
        _grains[grain] = new DataGrain(data, slot);
        return this;
    }

    public SeSparseWriter AddZero(long grain) => AddEntry(grain, 0x2000000000000000UL);

    public SeSparseWriter AddUnmapped(long grain) => AddEntry(grain, 0x1000000000000000UL);

    /// <summary>Writes any raw grain-table entry (for corrupt files).</summary>
    public SeSparseWriter AddEntry(long grain, ulong entry)
    {
        _grains[grain] = new RawEntry(entry);
        return this;
    }

    /// <summary>The allocated-grain entry: type 3, low 12 bits of the index in bits 48-59, the rest in bits 0-47.</summary>
    public static ulong AllocatedEntry(long slot) =>
        0x3000000000000000UL | (((ulong)slot & 0xFFF) << 48) | ((ulong)slot >> 12);

    public Layout Write(string path)
    {
        const long volatileSector = 1, journalHeaderSector = 2, journalHeaderSectors = 2;
        const long journalSector = 4, journalSectors = 4;
        long gdSector = journalSector + journalSectors;
        long gdSectors = Math.Max(1, (NeededGdEntries * 8 + SectorSize - 1) / SectorSize);
        var gdis = _grains.Keys.Select(g => g / EntriesPerGt).Distinct().OrderBy(x => x).ToList();
        var gtIndexByGdi = new Dictionary<long, long>();
        for (int k = 0; k < gdis.Count; k++) gtIndexByGdi[gdis[k]] = gdis.Count - 1 - k;
        long gtRegionSector = gdSector + gdSectors;
        long gtRegionSectors = Math.Max(1, gdis.Count) * GtSectors;
        long bitmapSector = gtRegionSector + gtRegionSectors, bitmapSectors = 1;
        long backmapSector = bitmapSector + bitmapSectors, backmapSectors = 1;
        long grainsSector = (backmapSector + backmapSectors + GrainSectors - 1) / GrainSectors * GrainSectors;
        long slots = _grains.Values.OfType<DataGrain>().Select(d => d.Slot + 1).DefaultIfEmpty(0).Max();
        long grainsSectors = Math.Max(slots, 1) * GrainSectors;
        long fileLength = (grainsSector + slots * GrainSectors) * SectorSize;
        fileLength = Math.Max(fileLength, grainsSector * SectorSize);

        using var f = new FileStream(path, FileMode.Create, FileAccess.Write);
        f.SetLength(fileLength);
        var header = new byte[SectorSize];
        void Put(int at, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(at), v);
        Put(0, ConstMagic);
        Put(8, Version);
        Put(16, (ulong)CapacitySectors);
        Put(24, GrainSectors);
        Put(32, GtSectors);
        Put(80, volatileSector); Put(88, 1);
        Put(96, journalHeaderSector); Put(104, journalHeaderSectors);
        Put(112, journalSector); Put(120, journalSectors);
        Put(128, (ulong)gdSector); Put(136, (ulong)gdSectors);
        Put(144, (ulong)gtRegionSector); Put(152, (ulong)gtRegionSectors);
        Put(160, (ulong)bitmapSector); Put(168, (ulong)bitmapSectors);
        Put(176, (ulong)backmapSector); Put(184, (ulong)backmapSectors);
        Put(192, (ulong)grainsSector); Put(200, (ulong)grainsSectors);
        WriteAt(f, 0, header);

        var vol = new byte[SectorSize];
        BinaryPrimitives.WriteUInt64LittleEndian(vol, VolatileMagic);
        BinaryPrimitives.WriteUInt64LittleEndian(vol.AsSpan(8), (ulong)gdis.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(vol.AsSpan(16), 0x24);
        WriteAt(f, volatileSector * SectorSize, vol);

        var gd = new byte[gdSectors * SectorSize];
        foreach (var (gdi, gtIndex) in gtIndexByGdi)
            BinaryPrimitives.WriteUInt64LittleEndian(gd.AsSpan((int)(gdi * 8)), 0x1000000000000000UL | (ulong)gtIndex);
        WriteAt(f, gdSector * SectorSize, gd);

        var gts = new byte[gtRegionSectors * SectorSize];
        foreach (var (grain, g) in _grains)
        {
            long gtIndex = gtIndexByGdi[grain / EntriesPerGt];
            int at = (int)(gtIndex * GtSectors * SectorSize + grain % EntriesPerGt * 8);
            ulong entry = g switch
            {
                DataGrain d => AllocatedEntry(d.Slot),
                RawEntry r => r.Entry,
                _ => throw new InvalidOperationException(),
            };
            BinaryPrimitives.WriteUInt64LittleEndian(gts.AsSpan(at), entry);
            if (g is DataGrain dg) WriteAt(f, (grainsSector + dg.Slot * GrainSectors) * SectorSize, dg.Data);
        }
        WriteAt(f, gtRegionSector * SectorSize, gts);
        return new Layout(volatileSector, gdSector, gdSectors, gtRegionSector, gtRegionSectors, grainsSector, grainsSectors,
            gtIndexByGdi, fileLength);
    }

    public static string Descriptor(string deltaFileName, long capacitySectors, uint cid, uint parentCid, string parentHint) =>
        VmdkDescriptorText.Child("seSparse", "SESPARSE", deltaFileName, capacitySectors, cid, parentCid, parentHint);

    private static void WriteAt(FileStream f, long offset, byte[] data)
    {
        f.Position = offset;
        f.Write(data);
    }
}
