namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// A bitmap of claimed units (file sectors or grain slots) used by the structural checks of the delta extents to
/// find two tables or grains sharing the same place. Memory is bounded: past <see cref="MaxUnits"/> units the
/// map is disabled (<see cref="Enabled"/> false) and overlaps are not looked for.
/// </summary>
internal sealed class DeltaOverlapMap
{
    /// <summary>2^29 units = 64 MiB of bitmap (a 256 GiB file in 512-byte sectors).</summary>
    public const long MaxUnits = 1L << 29;

    private readonly ulong[]? _bits;
    private readonly long _units;

    public DeltaOverlapMap(long units)
    {
        _units = Math.Max(0, units);
        if (_units <= MaxUnits) _bits = new ulong[(_units + 63) / 64];
    }

    public bool Enabled => _bits is not null;

    /// <summary>
    /// Claims [start, start+count) (clamped to the map). Returns the first unit already claimed, or -1 when all
    /// were free.
    /// </summary>
    public long Claim(long start, long count)
    {
        if (_bits is null || start < 0 || count <= 0) return -1;
        long end = Math.Min(_units, start + count);
        long firstClash = -1;
        for (long u = start; u < end; u++)
        {
            ulong mask = 1UL << (int)(u & 63);
            ref ulong word = ref _bits[u >> 6];
            if ((word & mask) != 0)
            {
                if (firstClash < 0) firstClash = u;
            }
            else
            {
                word |= mask;
            }
        }
        return firstClash;
    }
}
