using System.Buffers;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.Mounting.RestorePoints;

/// <summary>
/// The volume byte ranges where two points read differently: what the links between them hold (only there can the
/// points differ), narrowed to the bytes that really differ (per sector, from its first to its last differing byte). A link holds whole grains (64 KiB by default)
/// though a write changed a few sectors, so without the narrowing every file sharing a rewritten grain would look
/// changed. Cost: reading the rewritten ranges in both points.
/// </summary>
internal static class DifferingRanges
{
    /// <summary>Granularity of the comparison: the smallest unit a disk writes.</summary>
    public const int SectorBytes = 512;

    private const int ChunkBytes = 1 << 20;

    /// <summary>The differing ranges (volume-relative), or null with the reason when the volume cannot be mapped this way.</summary>
    public static VolumeRangeSet? Of(RestorePointSet points, int newer, int older, Volume newVolume, Volume oldVolume, out string? reason)
    {
        reason = null;
        if (RestorePointSet.DiskOffsetOf(newVolume) is not long start || RestorePointSet.DiskOffsetOf(oldVolume) != start)
        {
            reason = "the volume is not one range of the disk at the same place in both points (LVM, or moved): its allocation cannot be mapped";
            return null;
        }
        if (newVolume.Size != oldVolume.Size)
        {
            reason = "the volume has another size in each point";
            return null;
        }
        var rewritten = new VolumeRangeSet();
        foreach (var (at, n) in points.Rewritten(newer, older, start, newVolume.Size))
            rewritten.Add(at - start, n);
        var differing = new VolumeRangeSet();
        var a = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        var b = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            foreach (var (offset, length) in rewritten.Ranges)
                for (long pos = offset; pos < offset + length;)
                {
                    int want = (int)Math.Min(ChunkBytes, offset + length - pos);
                    int ra = newVolume.Data.ReadAt(pos, a.AsSpan(0, want));
                    int rb = oldVolume.Data.ReadAt(pos, b.AsSpan(0, want));
                    int got = Math.Max(ra, rb);
                    if (got == 0) break;
                    if (ra < got) a.AsSpan(ra, got - ra).Clear();
                    if (rb < got) b.AsSpan(rb, got - rb).Clear();
                    for (int s = 0; s < got; s += SectorBytes)
                    {
                        int n = Math.Min(SectorBytes, got - s);
                        var sa = a.AsSpan(s, n);
                        var sb = b.AsSpan(s, n);
                        if (sa.SequenceEqual(sb)) continue;
                        // Narrowed to the first and last differing byte: structures end inside sectors (a 64-byte
                        // group descriptor, a 256-byte inode), and identical bytes past one must not look changed.
                        int first = sa.CommonPrefixLength(sb);
                        int last = n - 1;
                        while (last > first && sa[last] == sb[last]) last--;
                        differing.Add(pos + s + first, last - first + 1);
                    }
                    pos += got;
                }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(a);
            ArrayPool<byte>.Shared.Return(b);
        }
        return differing;
    }
}
