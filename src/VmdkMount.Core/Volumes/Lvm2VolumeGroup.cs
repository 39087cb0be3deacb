using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Volumes;

/// <param name="Uuid">As the PV label holds it (32 characters); <paramref name="MetadataId"/> is the dashed form LVM shows.</param>
internal sealed record Lvm2PhysicalVolume(string Name, string Uuid, string MetadataId, long PeStartBytes, long PeCount);

internal sealed record Lvm2Stripe(string PvName, long PvExtent);

internal sealed record Lvm2Segment(long StartExtent, long ExtentCount, string Type, int StripeCount, long StripeSizeBytes, IReadOnlyList<Lvm2Stripe> Stripes);

internal sealed record Lvm2LogicalVolume(string Name, IReadOnlyList<string> Status, IReadOnlyList<Lvm2Segment> Segments)
{
    public bool Visible => Status.Contains("VISIBLE");
    public long ExtentCount => Segments.Count == 0 ? 0 : Segments.Max(s => s.StartExtent + s.ExtentCount);
}

/// <summary>
/// A volume group as its metadata text describes it. LVM counts extent_size, pe_start and stripe_size in 512-byte
/// sectors; here they are bytes. Values are range-checked so later arithmetic cannot overflow.
/// </summary>
internal sealed record Lvm2VolumeGroup(string Name, string Id, long Seqno, long ExtentSizeBytes,
    IReadOnlyList<Lvm2PhysicalVolume> PhysicalVolumes, IReadOnlyList<Lvm2LogicalVolume> LogicalVolumes)
{
    private const long SectorBytes = 512;
    /// <summary>
    /// Bounds that keep byte arithmetic inside long: 2^28 extents of at most 16 GiB (2^34 bytes) is 2^62 bytes, and
    /// pe_start at most 2^40 sectors. Real VGs are far inside these (4 MiB extents, pe_start 1 MiB).
    /// </summary>
    private const long MaxExtentSizeSectors = 1L << 25;
    private const long MaxExtents = 1L << 28;
    private const long MaxPeStartSectors = 1L << 40;
    private const int MaxStripes = 128;

    public static Lvm2VolumeGroup FromMetadata(Lvm2Section root, string where)
    {
        where += " LVM2 metadata";
        var vg = root.Sections.FirstOrDefault(s => s.Section("physical_volumes") is not null)
            ?? throw new CorruptDataException(where, 0, "no volume group section (with physical_volumes) in the metadata text");
        long extentSectors = vg.Number("extent_size") ?? throw new CorruptDataException(where, 0, $"VG '{vg.Name}' has no extent_size");
        if (extentSectors <= 0 || extentSectors > MaxExtentSizeSectors)
            throw new CorruptDataException(where, 0, $"VG '{vg.Name}' extent_size {extentSectors} is out of range");
        var pvs = new List<Lvm2PhysicalVolume>();
        var pvNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pv in vg.Section("physical_volumes")!.Sections)
        {
            string id = pv.String("id") ?? throw new CorruptDataException(where, 0, $"PV '{pv.Name}' has no id");
            long peStart = pv.Number("pe_start") ?? 0;
            long peCount = pv.Number("pe_count") ?? 0;
            if (peStart < 0 || peStart > MaxPeStartSectors || peCount < 0 || peCount > MaxExtents)
                throw new CorruptDataException(where, 0, $"PV '{pv.Name}' pe_start {peStart} / pe_count {peCount} out of range");
            // LVM refuses metadata naming a PV or an LV twice; taken as two, one VG would show twice its LVs
            if (!pvNames.Add(pv.Name)) throw new CorruptDataException(where, 0, $"VG '{vg.Name}': PV '{pv.Name}' is listed twice");
            pvs.Add(new Lvm2PhysicalVolume(pv.Name, id.Replace("-", ""), id, peStart * SectorBytes, peCount));
        }
        var lvs = new List<Lvm2LogicalVolume>();
        var lvNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var lv in vg.Section("logical_volumes")?.Sections ?? [])
        {
            if (!lvNames.Add(lv.Name)) throw new CorruptDataException(where, 0, $"VG '{vg.Name}': LV '{lv.Name}' is listed twice");
            var status = lv.List("status")?.OfType<string>().ToList() ?? [];
            var segments = new List<Lvm2Segment>();
            foreach (var seg in lv.Sections)
            {
                long start = seg.Number("start_extent") ?? -1;
                long count = seg.Number("extent_count") ?? -1;
                string type = seg.String("type") ?? "";
                if (start < 0 || count <= 0 || start > MaxExtents || count > MaxExtents - start)
                    throw new CorruptDataException(where, 0, $"LV '{lv.Name}' {seg.Name}: start_extent {start} / extent_count {count} out of range");
                long stripeCount = seg.Number("stripe_count") ?? 1;
                long stripeSize = seg.Number("stripe_size") ?? 0;
                var stripes = new List<Lvm2Stripe>();
                var list = seg.List("stripes");
                if (list is not null)
                {
                    if (stripeCount < 1 || stripeCount > MaxStripes || list.Count != stripeCount * 2)
                        throw new CorruptDataException(where, 0, $"LV '{lv.Name}' {seg.Name}: stripe_count {stripeCount} does not match {list.Count / 2} stripes listed");
                    for (int i = 0; i < list.Count; i += 2)
                    {
                        if (list[i] is not string pvName || list[i + 1] is not long pe || pe < 0 || pe > MaxExtents)
                            throw new CorruptDataException(where, 0, $"LV '{lv.Name}' {seg.Name}: stripe {i / 2} is not a (PV name, extent) pair");
                        stripes.Add(new Lvm2Stripe(pvName, pe));
                    }
                }
                if (stripeSize < 0 || stripeSize > MaxExtentSizeSectors)
                    throw new CorruptDataException(where, 0, $"LV '{lv.Name}' {seg.Name}: stripe_size {stripeSize} out of range");
                segments.Add(new Lvm2Segment(start, count, type, (int)Math.Max(1, stripeCount), stripeSize * SectorBytes, stripes));
            }
            lvs.Add(new Lvm2LogicalVolume(lv.Name, status, segments));
        }
        return new Lvm2VolumeGroup(vg.Name, vg.String("id") ?? "", vg.Number("seqno") ?? 0, extentSectors * SectorBytes, pvs, lvs);
    }
}
