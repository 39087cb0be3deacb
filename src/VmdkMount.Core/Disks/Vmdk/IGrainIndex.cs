namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// Where a hosted sparse extent finds its grains. Normally the grain directory and tables the header (or stream
/// footer) points at (<see cref="GrainTableIndex"/>); for a streamOptimized file cut off before its footer, the map a
/// walk of its records recovered (<see cref="TruncatedStreamIndex"/>). The extent asks only through this seam, so
/// the read path has no "is this a recovered stream" branches.
/// </summary>
internal interface IGrainIndex : IDisposable
{
    /// <summary>The run of one state at <paramref name="offset"/> (inside the extent), as <see cref="IExtent.Map"/> answers it.</summary>
    ExtentRun Map(long offset);

    /// <summary>The grain's entry: 0 unallocated, 1 zeroed, else the sector of its data (or compressed record).</summary>
    uint Entry(long grain);

    /// <summary>
    /// How many grains after <paramref name="grain"/> (whose entry is <paramref name="entry"/>) hold data stored right
    /// after the previous one's, counting only as many as <paramref name="wanted"/> more bytes reach into; 0 when the
    /// index cannot tell cheaply. Lets one pread serve a run of grains written in order.
    /// </summary>
    int ContiguousGrainsAfter(long grain, uint entry, int wanted);

    /// <summary>The structural problems of the index and the grains it points at (for `check`); empty when clean.</summary>
    IReadOnlyList<string> Check(CompressedGrainReader? compressed);
}
