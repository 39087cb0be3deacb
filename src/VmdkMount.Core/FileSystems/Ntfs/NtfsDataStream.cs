using System.Buffers;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// The bytes of one attribute's value (a $DATA stream, $INDEX_ALLOCATION, the $MFT itself): resident, or a run map
/// assembled from every piece (sorted by lowest VCN, each runlist decoded from LCN 0). Sparse runs and bytes at or
/// past the initialized size read as zeros; compressed streams are decoded one compression unit at a time.
/// Immutable once built, so any number of threads may read it. No allocation per read except pooled unit buffers.
/// </summary>
internal sealed class NtfsDataStream
{
    /// <summary>Largest compression unit accepted (16 clusters of 4 KiB is what Windows writes).</summary>
    private const int MaxUnitBytes = 1024 * 1024;
    /// <summary>Compression-unit buffers. A pool of our own: the shared pool trims (and so reallocates) under GC pressure.</summary>
    private static readonly ArrayPool<byte> UnitPool = ArrayPool<byte>.Create(MaxUnitBytes, 64);
    private readonly IReadAt _volume;
    private readonly string _where;
    private readonly ReadOnlyMemory<byte> _resident;
    private readonly bool _isResident;
    private readonly NtfsRun[] _runs;
    private readonly long _clusterSize;
    private readonly long _initialized;
    private readonly int _unitClusters;

    public long Length { get; }
    public long AllocatedSize { get; }
    public bool IsCompressed => _unitClusters > 0;

    private NtfsDataStream(IReadAt volume, string where, long length, long initialized, long allocated, long clusterSize,
        ReadOnlyMemory<byte> resident, bool isResident, NtfsRun[] runs, int unitClusters)
    {
        _volume = volume; _where = where; Length = length; _initialized = initialized; AllocatedSize = allocated;
        _clusterSize = clusterSize; _resident = resident; _isResident = isResident; _runs = runs; _unitClusters = unitClusters;
    }

    public static NtfsDataStream Empty(IReadAt volume, string where) =>
        new(volume, where, 0, 0, 0, 1, ReadOnlyMemory<byte>.Empty, true, [], 0);

    /// <summary>Builds the stream from its pieces (one resident attribute, or non-resident pieces in any order).
    /// <paramref name="partial"/>: only some pieces are known yet (the $MFT bootstrap).</summary>
    public static NtfsDataStream Build(IReadAt volume, string where, IReadOnlyList<NtfsAttribute> pieces, int clusterSize, long clusterCount,
        bool partial = false)
    {
        if (pieces.Count == 0) return Empty(volume, where);
        if (!pieces[0].NonResident)
        {
            if (pieces.Count != 1) throw new CorruptDataException(where, pieces[1].VolumeOffset, "a resident attribute has further pieces");
            var r = pieces[0];
            return new NtfsDataStream(volume, where, r.Value.Length, r.Value.Length, r.Value.Length, clusterSize, r.Value, true, [], 0);
        }
        var sorted = pieces.OrderBy(p => p.LowestVcn).ToArray();
        var first = sorted[0];
        if (first.LowestVcn != 0) throw new CorruptDataException(where, first.VolumeOffset, $"first piece starts at VCN {first.LowestVcn}, not 0");
        var runs = new List<NtfsRun>();
        long nextVcn = 0;
        foreach (var p in sorted)
        {
            if (!p.NonResident) throw new CorruptDataException(where, p.VolumeOffset, "resident and non-resident pieces mixed");
            if (p.HighestVcn < 0) continue; // empty attribute: a leftover runlist is ignored (ntfsprogs-plus #50)
            if (p.LowestVcn < nextVcn) throw new CorruptDataException(where, p.VolumeOffset, $"piece at VCN {p.LowestVcn} overlaps the previous one (ends at {nextVcn})");
            if (p.LowestVcn > nextVcn) runs.Add(new NtfsRun(nextVcn, p.LowestVcn - nextVcn, NtfsRun.SparseLcn));
            int before = runs.Count;
            NtfsRunlistDecoder.Decode(p.Runlist.Span, p.LowestVcn, clusterCount, runs, $"{where} (record {p.RecordNumber})", p.VolumeOffset);
            long end = runs.Count > before ? runs[^1].EndVcn : p.LowestVcn;
            // Runs beyond the piece's highest VCN would overlap the next piece: trust the VCN range the header declares.
            if (end > p.HighestVcn + 1)
            {
                long limit = p.HighestVcn + 1;
                while (runs.Count > before && runs[^1].Vcn >= limit) runs.RemoveAt(runs.Count - 1);
                if (runs.Count > before && runs[^1].EndVcn > limit) runs[^1] = runs[^1] with { Length = limit - runs[^1].Vcn };
                end = limit;
            }
            nextVcn = end;
        }
        int unitClusters = 0;
        if (first.IsCompressed)
        {
            int exp = first.CompressionUnitExponent == 0 ? 4 : first.CompressionUnitExponent;
            long unitBytes = (1L << exp) * clusterSize;
            if (unitBytes > MaxUnitBytes || clusterSize > 4096)
                throw new UnsupportedFeatureException(where, $"compression unit of {unitBytes} bytes with {clusterSize}-byte clusters");
            unitClusters = 1 << exp;
        }
        long size = first.DataSize;
        long mapped = nextVcn * clusterSize;
        if (!partial && size > mapped && size - mapped >= clusterSize && unitClusters == 0)
        {
            // Data size beyond the mapped clusters: only legal when the tail is uninitialized.
            if (first.InitializedSize > mapped)
                throw new CorruptDataException(where, first.VolumeOffset, $"data size {size} exceeds the {mapped} bytes the runlist maps");
        }
        return new NtfsDataStream(volume, where, size, Math.Min(first.InitializedSize, size), first.AllocatedSize, clusterSize,
            ReadOnlyMemory<byte>.Empty, false, runs.ToArray(), unitClusters);
    }

    /// <summary>Reads up to destination.Length bytes at offset; returns the count (0 at or past the end).</summary>
    public int Read(long offset, Span<byte> destination)
    {
        if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset));
        if (offset >= Length || destination.IsEmpty) return 0;
        int n = (int)Math.Min(destination.Length, Length - offset);
        var dst = destination[..n];
        if (_isResident)
        {
            _resident.Span.Slice((int)offset, n).CopyTo(dst);
            return n;
        }
        // Bytes past the initialized size ("valid data length") are zeros whatever the clusters hold.
        int valid = offset >= _initialized ? 0 : (int)Math.Min(n, _initialized - offset);
        dst[valid..].Clear();
        if (valid > 0)
        {
            if (_unitClusters > 0) ReadCompressed(offset, dst[..valid]);
            else ReadClusters(offset, dst[..valid]);
        }
        return n;
    }

    private void ReadClusters(long offset, Span<byte> dst)
    {
        int done = 0;
        int hint = 0;
        while (done < dst.Length)
        {
            long pos = offset + done;
            long vcn = pos / _clusterSize;
            int i = FindRun(vcn, hint);
            if (i < 0) throw new CorruptDataException(_where, pos, $"no run maps VCN {vcn}");
            hint = i;
            var run = _runs[i];
            long within = pos - run.Vcn * _clusterSize;
            int count = (int)Math.Min(dst.Length - done, run.Length * _clusterSize - within);
            var part = dst.Slice(done, count);
            if (run.IsSparse) part.Clear();
            else _volume.ReadExactly(run.Lcn * _clusterSize + within, part, _where);
            done += count;
        }
    }

    private void ReadCompressed(long offset, Span<byte> dst)
    {
        long unitBytes = _unitClusters * _clusterSize;
        byte[]? packed = null, unpacked = null;
        try
        {
            int done = 0;
            while (done < dst.Length)
            {
                long pos = offset + done;
                long unit = pos / unitBytes;
                long unitStart = unit * unitBytes;
                int within = (int)(pos - unitStart);
                int count = (int)Math.Min(dst.Length - done, unitBytes - within);
                var part = dst.Slice(done, count);
                long firstVcn = unit * _unitClusters;
                int mapped = CountMapped(firstVcn, _unitClusters);
                if (mapped == _unitClusters) ReadClusters(pos, part);       // stored uncompressed
                else if (mapped == 0) part.Clear();                        // sparse unit
                else
                {
                    packed ??= UnitPool.Rent((int)unitBytes);
                    unpacked ??= UnitPool.Rent((int)unitBytes);
                    int packedLen = GatherMapped(firstVcn, _unitClusters, packed);
                    NtfsLznt1.Decompress(packed.AsSpan(0, packedLen), unpacked.AsSpan(0, (int)unitBytes), _where, unitStart);
                    unpacked.AsSpan(within, count).CopyTo(part);
                }
                done += count;
            }
        }
        finally
        {
            if (packed is not null) UnitPool.Return(packed);
            if (unpacked is not null) UnitPool.Return(unpacked);
        }
    }

    private int CountMapped(long firstVcn, int clusters)
    {
        int mapped = 0;
        long vcn = firstVcn, end = firstVcn + clusters;
        int i = FindRun(vcn, 0);
        while (i >= 0 && i < _runs.Length && vcn < end)
        {
            var r = _runs[i];
            if (r.Vcn > vcn) break;
            long take = Math.Min(end, r.EndVcn) - vcn;
            if (!r.IsSparse) mapped += (int)take;
            vcn += take;
            i++;
        }
        return mapped;
    }

    /// <summary>Reads the mapped clusters of a compressed unit, in VCN order, into <paramref name="buffer"/>.</summary>
    private int GatherMapped(long firstVcn, int clusters, byte[] buffer)
    {
        int len = 0;
        long vcn = firstVcn, end = firstVcn + clusters;
        int i = FindRun(vcn, 0);
        while (i >= 0 && i < _runs.Length && vcn < end)
        {
            var r = _runs[i];
            if (r.Vcn > vcn) break;
            long take = Math.Min(end, r.EndVcn) - vcn;
            if (!r.IsSparse)
            {
                int bytes = (int)(take * _clusterSize);
                _volume.ReadExactly((r.Lcn + (vcn - r.Vcn)) * _clusterSize, buffer.AsSpan(len, bytes), _where);
                len += bytes;
            }
            vcn += take;
            i++;
        }
        return len;
    }

    /// <summary>
    /// Ranges of [offset, offset+length) that may hold data: the non-sparse runs below the initialized size. Resident
    /// and compressed streams are reported whole (a compression unit's sparse tail is part of its encoding).
    /// </summary>
    public IEnumerable<(long Offset, long Length)> AllocatedRanges(long offset, long length)
    {
        long end = Math.Min(Length, offset + Math.Max(0, length));
        if (offset < 0 || offset >= end) yield break;
        if (_isResident || _unitClusters > 0)
        {
            yield return (offset, end - offset);
            yield break;
        }
        end = Math.Min(end, _initialized);
        // One pass over the runs in order: bounded by the run count.
        for (int i = Math.Max(0, FindRun(offset / _clusterSize, 0)); i < _runs.Length; i++)
        {
            var run = _runs[i];
            long runStart = run.Vcn * _clusterSize, runEnd = run.EndVcn * _clusterSize;
            if (runStart >= end) yield break;
            if (run.IsSparse || runEnd <= offset) continue;
            long s = Math.Max(runStart, offset), e = Math.Min(runEnd, end);
            if (e > s) yield return (s, e - s);
        }
    }

    /// <summary>
    /// The non-sparse runs as (stream offset, volume offset, length) in bytes, ascending, allocated size included (the
    /// change locator maps volume bytes back to $MFT records with it). None for a resident stream.
    /// </summary>
    public IEnumerable<(long StreamOffset, long VolumeOffset, long Length)> Extents()
    {
        if (_isResident) yield break;
        foreach (var run in _runs)
            if (!run.IsSparse) yield return (run.Vcn * _clusterSize, run.Lcn * _clusterSize, run.Length * _clusterSize);
    }

    /// <summary>Volume byte offset of a stream offset (for messages), or -1 when resident, sparse or unmapped.</summary>
    public long VolumeOffsetOf(long offset)
    {
        if (_isResident || offset < 0) return -1;
        int i = FindRun(offset / _clusterSize, 0);
        if (i < 0 || _runs[i].IsSparse) return -1;
        return _runs[i].Lcn * _clusterSize + (offset - _runs[i].Vcn * _clusterSize);
    }

    /// <summary>Index of the run holding <paramref name="vcn"/>, or -1. Checks the hint (sequential reads) first.</summary>
    private int FindRun(long vcn, int hint)
    {
        var runs = _runs;
        if ((uint)hint < (uint)runs.Length && runs[hint].Vcn <= vcn && vcn < runs[hint].EndVcn) return hint;
        if ((uint)(hint + 1) < (uint)runs.Length && runs[hint + 1].Vcn <= vcn && vcn < runs[hint + 1].EndVcn) return hint + 1;
        int lo = 0, hi = runs.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (runs[mid].EndVcn <= vcn) lo = mid + 1;
            else if (runs[mid].Vcn > vcn) hi = mid - 1;
            else return mid;
        }
        return -1;
    }
}
