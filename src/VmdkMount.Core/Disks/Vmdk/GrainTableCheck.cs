using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// `check` of a hosted sparse extent read through its grain directory: every table inside the file, every entry
/// inside the capacity and outside the metadata, compressed records decodable, no two grains overlapping, the
/// redundant directory and tables equal to the primary ones, and (VMware stream layout) the record sequence.
/// </summary>
internal static class GrainTableCheck
{
    private const int MaxProblems = 100;

    public static IReadOnlyList<string> Run(GrainTableIndex index, CompressedGrainReader? compressed)
    {
        var header = index.Header;
        string fileName = index.FileName;
        long length = index.Length;
        long fileLength = index.ExtentFile.Length;
        var problems = new List<string>();
        void Report(string p)
        {
            if (problems.Count < MaxProblems) problems.Add(p);
            else if (problems.Count == MaxProblems) problems.Add($"{fileName}: more problems not listed");
        }
        uint[] gd;
        try { gd = index.Directory; }
        catch (VmdkMountException e) { return [e.Message]; }
        var used = new List<(uint Start, long Sectors, long Grain)>();
        long grainBytes = header.GrainBytes;
        for (long gdi = 0; gdi < gd.Length && problems.Count <= MaxProblems; gdi++)
        {
            if (gd[gdi] == 0) continue;
            uint[] gt;
            try { gt = index.Table(gd[gdi], gdi); }
            catch (VmdkMountException e) { Report(e.Message); continue; }
            for (int i = 0; i < gt.Length; i++)
            {
                long grain = gdi * header.GtesPerGt + i;
                uint gte = gt[i];
                if (gte == GrainTableEntry.Unallocated) continue;
                if (grain * grainBytes >= length)
                {
                    Report($"{fileName}: grain table entry {i} of table {gdi} (grain {grain}) lies beyond the capacity");
                    continue;
                }
                if (gte == GrainTableEntry.Zeroed)
                {
                    if (!header.HasZeroedGrainGte) Report($"{fileName}: grain {grain} has entry 1 but zeroed-grain entries are not enabled (read as zeros)");
                    continue;
                }
                try
                {
                    GrainTableEntry.Classify(gte, grain, header, fileName);
                    if (compressed is not null)
                    {
                        compressed.Decode(grain, gte, out long sectors);
                        used.Add((gte, sectors, grain));
                    }
                    else
                    {
                        long need = Math.Min(grainBytes, length - grain * grainBytes);
                        if ((long)gte * Sector.Size + need > fileLength)
                            Report($"{fileName}: grain {grain} points after the end of the file (sector {gte})");
                        used.Add((gte, (long)header.GrainSectors, grain));
                    }
                }
                catch (VmdkMountException e) { Report(e.Message); }
            }
        }
        used.Sort((a, b) => a.Start.CompareTo(b.Start));
        for (int i = 1; i < used.Count; i++)
            if (used[i - 1].Start + used[i - 1].Sectors > used[i].Start)
                Report($"{fileName}: grains {used[i - 1].Grain} and {used[i].Grain} overlap (sectors {used[i - 1].Start} and {used[i].Start})");
        if (header.HasRedundantGd) CheckRedundant(index, gd, Report);
        // Only the VMware layout (footer at the end) is a pure sequence of records and markers; qemu may leave
        // stale bytes between records of a stream file it wrote to, which a sequential walk would misread.
        if (header.HasMarkers && index.HeaderFromFooter)
        {
            try { StreamScanner.Scan(index.ExtentFile, fileName, header, Report); }
            catch (VmdkMountException e) { Report(e.Message); }
        }
        return problems;
    }

    private static void CheckRedundant(GrainTableIndex index, uint[] gd, Action<string> report)
    {
        const string what = "redundant grain directory";
        long rgdOffset = (long)index.Header.RgdOffsetSectors * Sector.Size;
        try { index.CheckDirectoryInFile(rgdOffset, gd.Length, what); }
        catch (VmdkMountException e) { report(e.Message); return; }
        // the copy is read a piece at a time, so that checking a 128 MiB directory does not hold a second one
        var rgd = new uint[Math.Min(gd.Length, RedundantPieceEntries)];
        for (long first = 0; first < gd.Length; first += rgd.Length)
        {
            int n = (int)Math.Min(rgd.Length, gd.Length - first);
            try { index.ReadDirectoryPart(rgdOffset + first * 4, rgd.AsSpan(0, n), what); }
            catch (VmdkMountException e) { report(e.Message); return; }
            for (long gdi = first; gdi < first + n; gdi++)
            {
                uint copy = rgd[gdi - first];
                if ((gd[gdi] == 0) != (copy == 0))
                {
                    report($"{index.FileName}: grain directory and its redundant copy differ at entry {gdi}");
                    continue;
                }
                if (gd[gdi] == 0) continue;
                uint[] a;
                // a primary table that cannot be read was reported by the walk of the primary tables: once is enough
                try { a = index.Table(gd[gdi], gdi); }
                catch (VmdkMountException) { continue; }
                try
                {
                    var b = index.Table(copy, gdi);
                    if (!a.AsSpan().SequenceEqual(b)) report($"{index.FileName}: grain table {gdi} and its redundant copy differ");
                }
                catch (VmdkMountException e) { report(e.Message); }
            }
        }
    }

    /// <summary>Redundant directory entries read at once by <see cref="CheckRedundant"/> (64 KiB).</summary>
    private const int RedundantPieceEntries = 16 * 1024;
}
