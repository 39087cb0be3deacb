namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>What one extent says about a byte of its range.</summary>
public enum GrainState : byte
{
    /// <summary>This link holds nothing here: read the parent (zeros below the base).</summary>
    Unallocated,
    /// <summary>Zeros, and the parent is not consulted (zeroed-grain GTE, SEsparse zero/unmapped, ZERO extent).</summary>
    Zero,
    /// <summary>This link holds the data.</summary>
    Data,
    /// <summary>A NOACCESS extent: reads must fail.</summary>
    NoAccess,
}

/// <summary>A run of one state starting at the offset asked about. Length ≥ 1 byte, never past the extent's end.</summary>
public readonly record struct ExtentRun(GrainState State, long Length);

/// <summary>
/// One extent of one link: a hosted sparse (KDMV) file, a flat file, a COWD or SEsparse delta, a ZERO range.
/// Offsets are bytes from the start of this extent. Implementations are thread-safe and read their tables lazily.
/// The link reads every kind through these members alone, so a new kind needs no change above it.
/// </summary>
public interface IExtent : IDisposable
{
    /// <summary>The extent file's path (or "ZERO"), for messages.</summary>
    string FileName { get; }

    /// <summary>
    /// The extent's type as a descriptor's extent line spells it (SPARSE, FLAT, ZERO, NOACCESS; COWD and SESPARSE for
    /// bare ESX delta files), for `info` when no descriptor line names it.
    /// </summary>
    string Kind { get; }

    /// <summary>Bytes of virtual disk this extent covers.</summary>
    long Length { get; }

    /// <summary>
    /// The state at <paramref name="offset"/> and how far it lasts: at least to the end of the grain that holds
    /// <paramref name="offset"/> (clamped to <see cref="Length"/>); an implementation may return a longer run of
    /// the same state when that is cheap to know (e.g. a whole absent grain table).
    /// </summary>
    ExtentRun Map(long offset);

    /// <summary>
    /// Reads a range that <see cref="Map"/> reports as <see cref="GrainState.Data"/> throughout, however many of its
    /// runs, grains and grain tables the range spans (the owner map hands the link whole merged data runs, and
    /// splitting them again per <see cref="Map"/> run would cost a table lookup per run on the hot path). A range
    /// <see cref="Map"/> reports as <see cref="GrainState.NoAccess"/> throws, which is what reading it means.
    /// </summary>
    void ReadData(long offset, Span<byte> destination);

    /// <summary>Bytes per grain of a sparse or delta extent, for `info`; 0 for extents without grains (flat, ZERO, NOACCESS).</summary>
    long GrainBytes { get; }

    /// <summary>Structural check for `vmdkmount check`: every table in range, no grain overlaps, markers decode. Empty when clean.</summary>
    IReadOnlyList<string> Check();

    /// <summary>Non-fatal oddities noticed while opening (unclean shutdown, ...).</summary>
    IReadOnlyList<string> Warnings { get; }
}
