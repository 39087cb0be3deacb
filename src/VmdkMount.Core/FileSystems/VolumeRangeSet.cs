namespace VmdkMount.Core.FileSystems;

/// <summary>
/// A set of volume byte ranges kept sorted and disjoint (adjacent ranges merged): the bytes that differ between two
/// restore points, and what is left of them once every structure that explains a part has been taken away.
/// </summary>
public sealed class VolumeRangeSet
{
    private readonly List<(long Start, long End)> _ranges = new();

    public int Count => _ranges.Count;

    public bool IsEmpty => _ranges.Count == 0;

    public long TotalBytes => _ranges.Sum(r => r.End - r.Start);

    /// <summary>The ranges as (offset, length), ascending.</summary>
    public IEnumerable<(long Offset, long Length)> Ranges => _ranges.Select(r => (r.Start, r.End - r.Start));

    public VolumeRangeSet Copy()
    {
        var copy = new VolumeRangeSet();
        copy._ranges.AddRange(_ranges);
        return copy;
    }

    /// <summary>Adds [offset, offset+length), merging with the ranges it touches.</summary>
    public void Add(long offset, long length)
    {
        if (length <= 0) return;
        long start = offset, end = offset + length;
        int i = FirstEndingAtOrAfter(start);
        int j = i;
        while (j < _ranges.Count && _ranges[j].Start <= end)
        {
            start = Math.Min(start, _ranges[j].Start);
            end = Math.Max(end, _ranges[j].End);
            j++;
        }
        _ranges.RemoveRange(i, j - i);
        _ranges.Insert(i, (start, end));
    }

    /// <summary>Takes [offset, offset+length) out of the set.</summary>
    public void Remove(long offset, long length)
    {
        if (length <= 0 || _ranges.Count == 0) return;
        long start = offset, end = offset + length;
        int i = FirstEndingAfter(start);
        int j = i;
        var keep = new List<(long, long)>(2);
        while (j < _ranges.Count && _ranges[j].Start < end)
        {
            var r = _ranges[j];
            if (r.Start < start) keep.Add((r.Start, start));
            if (r.End > end) keep.Add((end, r.End));
            j++;
        }
        _ranges.RemoveRange(i, j - i);
        _ranges.InsertRange(i, keep);
    }

    /// <summary>The parts of the set that lie within [offset, offset+length), ascending.</summary>
    public IEnumerable<(long Offset, long Length)> Within(long offset, long length)
    {
        long end = offset + length;
        for (int i = FirstEndingAfter(offset); i < _ranges.Count && _ranges[i].Start < end; i++)
        {
            long s = Math.Max(offset, _ranges[i].Start), e = Math.Min(end, _ranges[i].End);
            if (e > s) yield return (s, e - s);
        }
    }

    public bool Overlaps(long offset, long length) => length > 0 && Within(offset, length).Any();

    /// <summary>Index of the first range whose end is after <paramref name="at"/> (binary search).</summary>
    private int FirstEndingAfter(long at)
    {
        int lo = 0, hi = _ranges.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_ranges[mid].End <= at) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>Index of the first range that ends at or after <paramref name="at"/> (so a range ending exactly there merges).</summary>
    private int FirstEndingAtOrAfter(long at)
    {
        int lo = 0, hi = _ranges.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_ranges[mid].End < at) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
