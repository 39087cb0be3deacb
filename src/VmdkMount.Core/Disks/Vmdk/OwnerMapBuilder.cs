namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// Resolves "which link holds each byte" for one block of the flattened disk, walking the links top-down
/// once: a range a link leaves unallocated goes down to the next link at the same virtual offset; data,
/// zeroed grains and NOACCESS stop there. Links may have different grain sizes, so this works on byte runs, not
/// on one grain size. The result is cached by the disk, so later reads cost the same at any chain depth.
/// </summary>
internal static class OwnerMapBuilder
{
    public static OwnerRun[] Build(IReadOnlyList<VmdkLink> links, long start, long end)
    {
        var resolved = new List<OwnerRun>();
        var pending = new List<(long Start, long End)> { (start, end) };
        var next = new List<(long Start, long End)>();
        for (int link = 0; link < links.Count && pending.Count > 0; link++)
        {
            next.Clear();
            var l = links[link];
            foreach (var (s, e) in pending)
            {
                for (long pos = s; pos < e;)
                {
                    var r = l.Map(pos);
                    long n = Math.Min(r.Length, e - pos);
                    if (r.State == GrainState.Unallocated)
                    {
                        if (next.Count > 0 && next[^1].End == pos) next[^1] = (next[^1].Start, pos + n);
                        else next.Add((pos, pos + n));
                    }
                    else
                    {
                        resolved.Add(new OwnerRun(pos, n, link, r.State));
                    }
                    pos += n;
                }
            }
            (pending, next) = (next, pending);
        }
        foreach (var (s, e) in pending) resolved.Add(new OwnerRun(s, e - s, -1, GrainState.Unallocated));
        resolved.Sort((a, b) => a.Start.CompareTo(b.Start));
        var merged = new List<OwnerRun>(resolved.Count);
        foreach (var r in resolved)
        {
            if (merged.Count > 0 && merged[^1].End == r.Start && Same(merged[^1], r))
                merged[^1] = merged[^1] with { Length = merged[^1].Length + r.Length };
            else
                merged.Add(r);
        }
        return merged.ToArray();
    }

    private static bool Same(OwnerRun a, OwnerRun b) => a.State == b.State && a.Link == b.Link;
}
