namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// Decodes SEsparse grain-directory entries (u64): 0 is "no grain table"; otherwise the top 32 bits are 0x10000000
/// (type 1, allocated) and the low 32 bits index a grain table in the grain-tables region.
/// </summary>
internal static class SeSparseGrainDirectoryEntry
{
    private const ulong AllocatedTag = 0x10000000UL;
    private const int TagShift = 32;
    private const ulong IndexMask = 0xFFFF_FFFFUL;

    /// <summary>True and the GT index for an allocated entry; false with index -1 for an invalid one; index 0 and true never mean "none".</summary>
    public static bool TryDecode(ulong entry, out long gtIndex)
    {
        if (entry >> TagShift != AllocatedTag)
        {
            gtIndex = -1;
            return false;
        }
        gtIndex = (long)(entry & IndexMask);
        return true;
    }

    public static ulong Allocated(long gtIndex) => (AllocatedTag << TagShift) | ((ulong)gtIndex & IndexMask);
}
