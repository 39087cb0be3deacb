namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>What an SEsparse grain-table entry says (type in the top nibble).</summary>
internal enum SeSparseGrainKind : byte
{
    Unallocated,
    Unmapped,
    Zero,
    Allocated,
    /// <summary>A reserved type nibble, or type 0 with other bits set.</summary>
    Invalid,
}

/// <summary>
/// Decodes SEsparse grain-table entries (u64). An allocated entry stores its grain index with the halves swapped:
/// the low 12 bits of the index sit in bits 48-59 and the high bits in bits 0-47.
/// </summary>
internal static class SeSparseGrainTableEntry
{
    private const int TypeShift = 60;
    private const ulong TypeUnallocated = 0x0;
    private const ulong TypeUnmapped = 0x1;
    private const ulong TypeZero = 0x2;
    private const ulong TypeAllocated = 0x3;

    private const int LowIndexBits = 12;
    private const int LowIndexShift = 48;
    private const ulong LowIndexMask = 0xFFF;
    private const ulong HighIndexMask = 0x0000_FFFF_FFFF_FFFFUL;

    public static SeSparseGrainKind Kind(ulong entry) => (entry >> TypeShift) switch
    {
        TypeUnallocated => entry == 0 ? SeSparseGrainKind.Unallocated : SeSparseGrainKind.Invalid,
        TypeUnmapped => SeSparseGrainKind.Unmapped,
        TypeZero => SeSparseGrainKind.Zero,
        TypeAllocated => SeSparseGrainKind.Allocated,
        _ => SeSparseGrainKind.Invalid,
    };

    /// <summary>The grain index (in the grains region) of an allocated entry.</summary>
    public static long GrainIndex(ulong entry) =>
        (long)(((entry >> LowIndexShift) & LowIndexMask) | ((entry & HighIndexMask) << LowIndexBits));

    /// <summary>The entry for an allocated grain at <paramref name="grainIndex"/> (for test writers).</summary>
    public static ulong Allocated(long grainIndex) =>
        (TypeAllocated << TypeShift) | (((ulong)grainIndex & LowIndexMask) << LowIndexShift) | ((ulong)grainIndex >> LowIndexBits);

    public static ulong Zero => TypeZero << TypeShift;

    public static ulong Unmapped => TypeUnmapped << TypeShift;

    public static GrainState State(SeSparseGrainKind kind) => kind switch
    {
        SeSparseGrainKind.Unallocated => GrainState.Unallocated,
        SeSparseGrainKind.Allocated => GrainState.Data,
        _ => GrainState.Zero,
    };
}
