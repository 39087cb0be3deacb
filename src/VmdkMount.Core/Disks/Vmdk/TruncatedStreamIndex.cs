using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// The grains of a streamOptimized file whose footer (and so grain directory) is missing, found by walking its grain
/// records from overHead as a sequential reader does: grain records advance by their size, metadata markers by
/// 1 + val sectors, a progress marker by one sector. The walk stops at the first record or marker that does not fit
/// the file, or at the end-of-stream marker; everything it did not find reads as unallocated (zeros below the base).
/// Used only under `--recover-truncated`.
/// </summary>
internal sealed class TruncatedStreamIndex : IGrainIndex
{
    /// <summary>Grain index -> sector of its compressed record.</summary>
    private readonly Dictionary<long, uint> _records;
    private readonly string _fileName;
    private readonly long _length;
    private readonly long _grainBytes;
    private readonly uint _gtesPerGt;

    private TruncatedStreamIndex(Dictionary<long, uint> records, string fileName, SparseExtentHeader header, string stoppedAt)
    {
        _records = records;
        _fileName = fileName;
        _length = header.CapacityBytes;
        _grainBytes = header.GrainBytes;
        _gtesPerGt = header.GtesPerGt;
        StoppedAt = stoppedAt;
    }

    /// <summary>Grains the walk found.</summary>
    public int Count => _records.Count;

    /// <summary>What ended the walk ("the end of the file", "the end-of-stream marker at offset N", ...), for the warning.</summary>
    public string StoppedAt { get; }

    /// <summary>Walks the records of <paramref name="file"/> (whose sector-0 header is <paramref name="header"/>).</summary>
    public static TruncatedStreamIndex Walk(IReadAt file, string fileName, SparseExtentHeader header)
    {
        var map = new Dictionary<long, uint>();
        long length = file.Length, pos = (long)header.OverHeadSectors * Sector.Size, grainBytes = header.GrainBytes;
        Span<byte> head = stackalloc byte[16];
        string stop = "the end of the file";
        while (pos + Sector.Size <= length)
        {
            file.ReadExactly(pos, head, $"{fileName}: stream record");
            var m = StreamMarker.Read(head);
            if (!m.IsMarker)
            {
                long next = pos + (StreamMarker.GrainRecordHeaderBytes + m.Size + Sector.Size - 1) / Sector.Size * Sector.Size;
                if (m.Size > 2 * grainBytes || next > length || m.Value % header.GrainSectors != 0 || m.Value >= header.CapacitySectors)
                {
                    stop = $"an incomplete or invalid grain record at offset {pos}";
                    break;
                }
                map[(long)(m.Value / header.GrainSectors)] = (uint)(pos / Sector.Size);
                pos = next;
            }
            else if (m.Type == StreamMarker.TypeEos) { stop = $"the end-of-stream marker at offset {pos}"; break; }
            else if (m.Type is StreamMarker.TypeGrainTable or StreamMarker.TypeGrainDirectory or StreamMarker.TypeFooter && m.Value <= (ulong)((length - pos) / Sector.Size))
                pos += (1 + (long)m.Value) * Sector.Size;
            else if (m.Type == StreamMarker.TypeProgress) pos += Sector.Size;
            else { stop = $"an invalid marker at offset {pos}"; break; }
        }
        return new TruncatedStreamIndex(map, fileName, header, stop);
    }

    public ExtentRun Map(long offset)
    {
        long grain = offset / _grainBytes;
        bool has = _records.ContainsKey(grain);
        // At most one grain table's worth of grains per answer: a Map costs a bounded number of lookups.
        long g = grain + 1, limit = grain + _gtesPerGt;
        while (g < limit && g * _grainBytes < _length && _records.ContainsKey(g) == has) g++;
        return new ExtentRun(has ? GrainState.Data : GrainState.Unallocated, Math.Min(_length, g * _grainBytes) - offset);
    }

    public uint Entry(long grain) => _records.GetValueOrDefault(grain);

    /// <summary>Compressed records are read one by one, so there is never a contiguous run to merge.</summary>
    public int ContiguousGrainsAfter(long grain, uint entry, int wanted) => 0;

    public IReadOnlyList<string> Check(CompressedGrainReader? compressed) =>
        [$"{_fileName}: truncated stream: no footer, no grain directory (read by walking the records)"];

    public void Dispose() { }
}
