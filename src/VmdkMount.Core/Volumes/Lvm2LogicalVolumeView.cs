using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Volumes;

/// <summary>
/// The bytes of an LVM2 logical volume, mapped through its linear and striped segments onto the bytes of its PVs.
/// Immutable after construction, so reads are thread-safe.
/// </summary>
internal sealed class Lvm2LogicalVolumeView : IReadAt
{
    private readonly MappedSegment[] _segments;
    private readonly string _name;

    /// <summary>One segment with its stripes resolved to (PV bytes, byte offset of the stripe's first extent).</summary>
    private sealed record MappedSegment(long Start, long Length, long ChunkBytes, (IReadAt Pv, long Base)[] Stripes);

    /// <param name="pvs">The bytes of each PV of the VG by metadata name (pv0, pv1...); absent PVs are not in it.</param>
    public Lvm2LogicalVolumeView(Lvm2VolumeGroup vg, Lvm2LogicalVolume lv, IReadOnlyDictionary<string, IReadAt> pvs, string name)
    {
        _name = name;
        long e = vg.ExtentSizeBytes;
        var mapped = new List<MappedSegment>();
        long expected = 0;
        foreach (var seg in lv.Segments.OrderBy(s => s.StartExtent))
        {
            if (seg.Type is not ("striped" or "linear"))
                throw new UnsupportedFeatureException(name, $"LV segment type '{seg.Type}' (only linear and striped LVs are read)");
            if (seg.StartExtent != expected)
                throw new CorruptDataException(name, seg.StartExtent * e, $"LV segments leave a gap or overlap at extent {expected} (next segment starts at {seg.StartExtent})");
            int n = seg.Stripes.Count;
            if (n == 0) throw new CorruptDataException(name, seg.StartExtent * e, "LV segment lists no stripes");
            if (seg.ExtentCount % n != 0)
                throw new CorruptDataException(name, seg.StartExtent * e, $"LV segment of {seg.ExtentCount} extents cannot be split over {n} stripes");
            if (n > 1 && (seg.StripeSizeBytes <= 0 || e % seg.StripeSizeBytes != 0))
                throw new CorruptDataException(name, seg.StartExtent * e, $"striped LV segment has stripe size {seg.StripeSizeBytes} bytes, which does not divide the extent size {e}");
            long perStripe = seg.ExtentCount / n;
            var stripes = new (IReadAt, long)[n];
            for (int k = 0; k < n; k++)
            {
                var s = seg.Stripes[k];
                var pvMeta = vg.PhysicalVolumes.FirstOrDefault(p => p.Name == s.PvName)
                    ?? throw new CorruptDataException(name, 0, $"LV segment refers to PV '{s.PvName}', which the VG does not list");
                if (!pvs.TryGetValue(s.PvName, out var pvData))
                    throw new UnsupportedFeatureException(name,
                        $"the LV lies partly on PV '{s.PvName}' ({pvMeta.MetadataId}), which is on none of the disks given");
                if (s.PvExtent + perStripe > pvMeta.PeCount)
                    throw new CorruptDataException(name, 0, $"LV segment uses extents {s.PvExtent}..{s.PvExtent + perStripe - 1} of PV '{s.PvName}', which has {pvMeta.PeCount}");
                long stripeBase = checked(pvMeta.PeStartBytes + s.PvExtent * e);
                if (checked(stripeBase + perStripe * e) > pvData.Length)
                    throw new CorruptDataException(name, stripeBase, $"LV extents on PV '{s.PvName}' end past the end of that PV ({pvData.Length} bytes)");
                stripes[k] = (pvData, stripeBase);
            }
            mapped.Add(new MappedSegment(seg.StartExtent * e, seg.ExtentCount * e, n > 1 ? seg.StripeSizeBytes : seg.ExtentCount * e, stripes));
            expected = seg.StartExtent + seg.ExtentCount;
        }
        _segments = mapped.ToArray();
        Length = expected * e;
        if (_segments.Length > 0) (FirstPv, FirstPvOffset) = _segments[0].Stripes[0];
    }

    public long Length { get; }

    /// <summary>Where the LV's first byte lives: which PV, and the byte offset inside it.</summary>
    public IReadAt? FirstPv { get; }

    public long FirstPvOffset { get; }

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset));
        int total = 0;
        while (total < destination.Length && offset < Length)
        {
            var seg = FindSegment(offset);
            long o = offset - seg.Start;
            long chunk = o / seg.ChunkBytes;
            long within = o % seg.ChunkBytes;
            int n = seg.Stripes.Length;
            var (pv, stripeBase) = seg.Stripes[chunk % n];
            long pvOffset = stripeBase + chunk / n * seg.ChunkBytes + within;
            int want = (int)Math.Min(destination.Length - total, Math.Min(seg.ChunkBytes - within, seg.Length - o));
            int got = pv.ReadAt(pvOffset, destination.Slice(total, want));
            if (got <= 0)
                throw new CorruptDataException(_name, offset, $"LV data at PV byte {pvOffset} cannot be read (PV is {pv.Length} bytes)");
            total += got;
            offset += got;
        }
        return total;
    }

    private MappedSegment FindSegment(long offset)
    {
        int lo = 0, hi = _segments.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (_segments[mid].Start <= offset) lo = mid; else hi = mid - 1;
        }
        return _segments[lo];
    }
}
