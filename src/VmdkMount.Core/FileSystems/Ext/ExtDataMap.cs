namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// Where a file's logical blocks live, flattened from an extent tree or a block map into sorted runs. Logical
/// blocks covered by no run are holes (zeros); a run with <see cref="Unwritten"/> physical start reads as zeros too
/// (preallocated, never written). Immutable, so one instance is shared by every reader thread.
/// </summary>
internal sealed class ExtDataMap
{
    public const long Unwritten = -1;

    private readonly long[] _logical;
    private readonly long[] _count;
    private readonly long[] _physical;

    public static readonly ExtDataMap Empty = new([], [], []);

    private ExtDataMap(long[] logical, long[] count, long[] physical)
    {
        _logical = logical;
        _count = count;
        _physical = physical;
    }

    public int RunCount => _logical.Length;

    /// <summary>
    /// Maps one logical block: returns the physical block (or <see cref="Unwritten"/>) and how many following blocks
    /// continue the same way; for a hole, physical is null and the count runs to the next run (or long.MaxValue).
    /// </summary>
    public long? Map(long logical, out long count)
    {
        int lo = 0, hi = _logical.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_logical[mid] <= logical) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        if (found >= 0 && logical < _logical[found] + _count[found])
        {
            count = _logical[found] + _count[found] - logical;
            long p = _physical[found];
            return p == Unwritten ? Unwritten : p + (logical - _logical[found]);
        }
        int next = found + 1;
        count = next < _logical.Length ? _logical[next] - logical : long.MaxValue;
        return null;
    }

    /// <summary>Every written run as (first physical block, block count), in logical order; unwritten runs are left out.</summary>
    public IEnumerable<(long Physical, long Count)> PhysicalRuns()
    {
        for (int i = 0; i < _logical.Length; i++)
            if (_physical[i] != Unwritten) yield return (_physical[i], _count[i]);
    }

    public sealed class Builder
    {
        private readonly List<long> _logical = new();
        private readonly List<long> _count = new();
        private readonly List<long> _physical = new();

        public int Count => _logical.Count;

        public long End => _logical.Count == 0 ? 0 : _logical[^1] + _count[^1];

        /// <summary>Appends a run; the caller guarantees ascending, non-overlapping logical ranges. Adjacent runs merge.</summary>
        public void Add(long logical, long count, long physical)
        {
            int n = _logical.Count;
            if (n > 0 && _logical[n - 1] + _count[n - 1] == logical)
            {
                long prevPhys = _physical[n - 1];
                bool bothUnwritten = prevPhys == Unwritten && physical == Unwritten;
                bool contiguous = prevPhys != Unwritten && physical != Unwritten && prevPhys + _count[n - 1] == physical;
                if (bothUnwritten || contiguous)
                {
                    _count[n - 1] += count;
                    return;
                }
            }
            _logical.Add(logical);
            _count.Add(count);
            _physical.Add(physical);
        }

        public ExtDataMap Build() => _logical.Count == 0 ? Empty : new([.. _logical], [.. _count], [.. _physical]);
    }
}
