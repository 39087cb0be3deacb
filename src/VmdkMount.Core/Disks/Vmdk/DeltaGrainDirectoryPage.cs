namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// A cached page of a delta extent's grain directory (COWD: u32 entries, SEsparse: u64), where an entry of 0 means
/// "no grain table in this link".
/// </summary>
internal static class DeltaGrainDirectoryPage
{
    /// <summary>Grain-directory bytes per cached page.</summary>
    public const int Bytes = 4096;

    /// <summary>
    /// The first directory index after <paramref name="gdi"/> whose entry is not 0, looking only inside
    /// <paramref name="page"/> (the page that holds <paramref name="gdi"/>): a long hole then costs one lookup per
    /// page of tables instead of one per table.
    /// </summary>
    public static long EndOfAbsentTables(byte[] page, long gdi, int entrySize, long neededEntries)
    {
        int entriesPerPage = Bytes / entrySize;
        long limit = Math.Min((gdi / entriesPerPage + 1) * entriesPerPage, neededEntries);
        long next = gdi + 1;
        while (next < limit && !page.AsSpan((int)(next % entriesPerPage) * entrySize, entrySize).ContainsAnyExcept((byte)0)) next++;
        return next;
    }
}
