namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>An extent placed in its link's virtual address space.</summary>
public sealed record PlacedExtent(long Start, IExtent Extent, ExtentLine? Line)
{
    public long End => Start + Extent.Length;
}

/// <summary>
/// One link of a chain: one virtual disk (a descriptor and its extents), before any parent shows through.
/// Offsets are virtual bytes of this link; reads are thread-safe.
/// </summary>
public sealed class VmdkLink : IDisposable
{
    private readonly PlacedExtent[] _extents;
    private readonly IDisposable[] _owned;

    internal VmdkLink(string path, DescriptorFile? descriptor, PlacedExtent[] extents, IDisposable[] owned, List<string> warnings, string kind)
    {
        Path = path;
        Descriptor = descriptor;
        _extents = extents;
        _owned = owned;
        Kind = kind;
        Length = extents.Length == 0 ? 0 : extents[^1].End;
        foreach (var e in extents) warnings.AddRange(e.Extent.Warnings);
        Warnings = warnings;
    }

    /// <summary>Full path of the file this link was opened from (descriptor or monolithic extent).</summary>
    public string Path { get; }

    public DescriptorFile? Descriptor { get; }

    /// <summary>What the file is: "descriptor", "monolithic sparse", "bare COWD extent" ...</summary>
    public string Kind { get; }

    public long Length { get; }

    public IReadOnlyList<PlacedExtent> Extents => _extents;

    public IReadOnlyList<string> Warnings { get; }

    public uint? Cid => Descriptor?.Cid;

    public uint ParentCid => Descriptor?.ParentCid ?? DescriptorFile.NoParentCid;

    public bool HasParent => Descriptor?.HasParent == true;

    public string? CreateType => Descriptor?.CreateType;

    /// <summary>How this link was found from its child ("parentFileNameHint", "file name beside the child", "CID search"), or null for the top link.</summary>
    public string? FoundBy { get; internal set; }

    /// <summary>Grain size in bytes of the first sparse extent, or 0 when the link has none.</summary>
    public long GrainBytes
    {
        get
        {
            foreach (var e in _extents)
                if (e.Extent.GrainBytes > 0) return e.Extent.GrainBytes;
            return 0;
        }
    }

    private int Find(long offset)
    {
        int lo = 0, hi = _extents.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >> 1;
            if (_extents[mid].Start <= offset) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    /// <summary>The state at <paramref name="offset"/>; past this link's end everything reads as zeros (a smaller parent).</summary>
    public ExtentRun Map(long offset)
    {
        if (offset >= Length) return new ExtentRun(GrainState.Zero, long.MaxValue - offset);
        var e = _extents[Find(offset)];
        var r = e.Extent.Map(offset - e.Start);
        return r.Length > e.End - offset ? r with { Length = e.End - offset } : r;
    }

    /// <summary>
    /// Reads a range that <see cref="Map"/> reported as data (or NOACCESS, which throws) throughout; it may span
    /// extents, runs and grains. Each extent answers its part whole (<see cref="IExtent.ReadData"/>).
    /// </summary>
    public void ReadData(long offset, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            var e = _extents[Find(offset)];
            int n = (int)Math.Min(destination.Length, e.End - offset);
            e.Extent.ReadData(offset - e.Start, destination[..n]);
            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>Bytes this link holds data for (zeroed grains and ZERO extents excluded).</summary>
    public long AllocatedBytes()
    {
        long total = 0;
        for (long pos = 0; pos < Length;)
        {
            var r = Map(pos);
            long n = Math.Min(r.Length, Length - pos);
            if (r.State == GrainState.Data) total += n;
            pos += n;
        }
        return total;
    }

    public IReadOnlyList<string> Check()
    {
        var problems = new List<string>();
        foreach (var e in _extents)
        {
            try
            {
                problems.AddRange(e.Extent.Check());
            }
            catch (Errors.VmdkMountException ex)
            {
                problems.Add(ex.Message);
            }
        }
        return problems;
    }

    public void Dispose()
    {
        foreach (var e in _extents) e.Extent.Dispose();
        foreach (var d in _owned) d.Dispose();
    }
}
