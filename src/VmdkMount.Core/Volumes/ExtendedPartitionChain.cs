namespace VmdkMount.Core.Volumes;

/// <summary>One logical partition found in the EBR chain, with absolute LBAs.</summary>
internal readonly record struct LogicalPartition(int Number, byte Type, long StartLba, long SectorCount, long EbrLba);

/// <summary>
/// Walks the chain of extended boot records inside an extended partition. Entry 1 of each EBR is a logical
/// partition relative to that EBR; entry 2 links to the next EBR relative to the first one (the container start).
/// Stops, with a warning, on a missing 55 AA, a link outside the container, a repeated EBR, or too many links.
/// </summary>
internal static class ExtendedPartitionChain
{
    /// <summary>Far more logical partitions than any tool creates; a longer chain is treated as damage.</summary>
    public const int MaxLinks = 256;

    public static List<LogicalPartition> Walk(Transports.IReadAt disk, long containerLba, long containerSectors,
        int sectorSize, List<string> warnings)
    {
        var result = new List<LogicalPartition>();
        var seen = new HashSet<long>();
        long containerEnd = containerLba + containerSectors;
        long diskSectors = disk.Length / sectorSize;
        long ebrLba = containerLba;
        var sector = new byte[MbrPartitionTable.SectorBytes];
        int number = 5;
        for (int link = 0; ; link++)
        {
            if (link >= MaxLinks)
            {
                warnings.Add($"extended partition at LBA {containerLba}: more than {MaxLinks} EBR links; stopped there (damaged chain?)");
                break;
            }
            if (!seen.Add(ebrLba))
            {
                warnings.Add($"extended partition at LBA {containerLba}: EBR chain loops back to LBA {ebrLba}; stopped there");
                break;
            }
            if (ebrLba >= diskSectors)
            {
                warnings.Add($"extended partition at LBA {containerLba}: EBR at LBA {ebrLba} lies past the end of the disk; chain stopped");
                break;
            }
            int got = disk.ReadAt(ebrLba * sectorSize, sector);
            var table = got == sector.Length ? MbrPartitionTable.Parse(sector) : null;
            if (table is null)
            {
                warnings.Add($"extended partition at LBA {containerLba}: EBR at LBA {ebrLba} (byte {ebrLba * sectorSize}) has no 55 AA signature; chain stopped");
                break;
            }
            var logical = table.Entries[0];
            if (!logical.IsEmpty && !logical.IsExtended)
            {
                if (ebrLba + logical.StartLba + logical.SectorCount > containerEnd)
                    warnings.Add($"p{number}: logical partition (LBA {ebrLba + logical.StartLba}, {logical.SectorCount} sectors) extends past the end of its extended partition (LBA {containerEnd})");
                result.Add(new LogicalPartition(number++, logical.Type, ebrLba + logical.StartLba, logical.SectorCount, ebrLba));
            }
            var next = table.Entries[1];
            if (next.IsEmpty) break;
            long nextLba = containerLba + next.StartLba;
            if (next.StartLba == 0 || nextLba >= containerEnd)
            {
                warnings.Add($"extended partition at LBA {containerLba}: EBR at LBA {ebrLba} links to LBA {nextLba}, outside the extended partition (LBA {containerLba}..{containerEnd - 1}); chain stopped");
                break;
            }
            ebrLba = nextLba;
        }
        return result;
    }
}
