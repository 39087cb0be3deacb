using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>What a hosted sparse grain table entry (GTE) means: 0 unallocated, 1 zeroed grain, else a data sector.</summary>
internal static class GrainTableEntry
{
    public const uint Unallocated = 0;
    public const uint Zeroed = 1;

    /// <summary>The state of grain <paramref name="grain"/> whose entry is <paramref name="gte"/>; a data sector inside the metadata area is corrupt.</summary>
    public static GrainState Classify(uint gte, long grain, SparseExtentHeader header, string fileName)
    {
        if (gte == Unallocated) return GrainState.Unallocated;
        if (gte == Zeroed) return GrainState.Zero;
        if (gte < header.OverHeadSectors)
            throw new CorruptDataException($"{fileName}: grain table entry of grain {grain}", (long)gte * Sector.Size,
                $"grain points inside the metadata area (sector {gte} < overHead {header.OverHeadSectors})");
        return GrainState.Data;
    }
}
