using System.Buffers;
using System.Buffers.Binary;
using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// ESX vmfsSparse ("COWD", redo-log) delta extent. A two-level map: a grain directory of
/// u32 GT sectors and 4096-entry grain tables of u32 grain sectors; 0 is "not in this link" at both levels, and
/// COWD has no zeroed-grain value. Opening reads the header only; directory pages and grain tables are read on
/// first use into a cache charged to the disk's <see cref="CacheBudget"/>. The extent does not own <c>file</c>.
/// </summary>
public sealed class CowdExtent : IExtent, DeltaExtentReader.IGrainLocator
{
    /// <summary>Grain-directory bytes per cached page (1024 entries).</summary>
    private const int GdPageBytes = DeltaGrainDirectoryPage.Bytes;
    private const int GdEntriesPerPage = GdPageBytes / sizeof(uint);

    /// <summary>How many grains past the asked one <see cref="Map"/> looks at to return a longer run.</summary>
    private const int MaxRunScanGrains = 1024;

    private readonly IReadAt _file;
    private readonly CowdHeader _header;
    private readonly BoundedCache<long, byte[]> _tables;
    private readonly long _fileLength;
    private readonly long _grainBytes;
    private readonly long _totalGrains;
    private readonly List<string> _warnings = new();
    private readonly DeltaExtentReader _reader;

    private CowdExtent(IReadAt file, string fileName, CowdHeader header, CacheBudget? cache)
    {
        _tables = new(cache ?? CacheBudget.Shared);
        _file = file;
        FileName = fileName;
        _header = header;
        _fileLength = file.Length;
        _grainBytes = header.GrainBytes;
        Length = header.CapacityBytes;
        _totalGrains = (Length + _grainBytes - 1) / _grainBytes;
        _reader = new DeltaExtentReader(file, fileName, "COWD", Length, _grainBytes, this);
        if (header.UncleanShutdown != 0)
            _warnings.Add($"{fileName}: COWD header: uncleanShutdown is set (the delta was not closed cleanly; reading it anyway)");
    }

    public static IExtent Open(IReadAt file, string fileName) => Open(file, fileName, null);

    /// <summary>Opens the extent with its tables charged to <paramref name="cache"/> (null: the process-wide budget).</summary>
    public static IExtent Open(IReadAt file, string fileName, CacheBudget? cache)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(CowdHeader.Size);
        try
        {
            var span = buffer.AsSpan(0, CowdHeader.Size);
            int n = file.ReadAt(0, span);
            return new CowdExtent(file, fileName, CowdHeader.Parse(span[..n], fileName, file.Length), cache);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public string FileName { get; }
    public string Kind => "COWD";

    public long Length { get; }

    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>Bytes per grain (512 in ESX deltas), for `info`.</summary>
    public long GrainBytes => _grainBytes;

    internal CowdHeader Header => _header;

    public ExtentRun Map(long offset)
    {
        if ((ulong)offset >= (ulong)Length) throw new ContractViolationException($"{FileName}: Map at {offset} is outside the extent ({Length} bytes)");
        long grain = offset / _grainBytes;
        long gdi = grain / CowdHeader.EntriesPerGt;
        int gti = (int)(grain % CowdHeader.EntriesPerGt);

        uint gtSector = GrainTableSector(gdi);
        long runEndGrain;
        GrainState state;
        if (gtSector == 0)
        {
            state = GrainState.Unallocated;
            runEndGrain = EndOfAbsentTables(gdi) * CowdHeader.EntriesPerGt;
        }
        else
        {
            byte[] gt = GrainTable(gdi, gtSector);
            bool allocated = Gte(gt, gti) != 0;
            state = allocated ? GrainState.Data : GrainState.Unallocated;
            int limit = Math.Min(CowdHeader.EntriesPerGt, gti + 1 + MaxRunScanGrains);
            int next = gti + 1;
            while (next < limit && (Gte(gt, next) != 0) == allocated) next++;
            runEndGrain = gdi * CowdHeader.EntriesPerGt + next;
        }
        long end = Math.Min(Length, runEndGrain * _grainBytes);
        return new ExtentRun(state, end - offset);
    }

    public void ReadData(long offset, Span<byte> destination) => _reader.ReadData(offset, destination);

    public IReadOnlyList<string> Check()
    {
        var problems = new DeltaProblems(FileName);
        long fileSectors = (_fileLength + Sector.Size - 1) / Sector.Size;
        var claimed = new DeltaOverlapMap(fileSectors);
        claimed.Claim(0, CowdHeader.HeaderSectors);
        long gdSectors = (_header.GdBytes + Sector.Size - 1) / Sector.Size;
        claimed.Claim(_header.GdSector, gdSectors);

        long neededGds = _header.NeededGdEntries;
        byte[] gt = new byte[CowdHeader.GtBytes];
        for (long gdi = 0; gdi < neededGds; gdi++)
        {
            uint gtSector = GdeRaw(gdi);
            if (gtSector == 0) continue;
            long gdeOffset = _header.GdByteOffset + gdi * sizeof(uint);
            string gtProblem = GtSectorProblem(gtSector);
            if (gtProblem.Length > 0)
            {
                problems.Add($"COWD grain directory entry {gdi}", gdeOffset, gtProblem);
                continue;
            }
            long clash = claimed.Claim(gtSector, CowdHeader.GtSectors);
            if (clash >= 0)
                problems.Add($"COWD grain table {gdi}", (long)gtSector * Sector.Size,
                    $"overlaps other metadata or grains at sector {clash}");
            if (_file.ReadAt((long)gtSector * Sector.Size, gt) != gt.Length)
            {
                problems.Add($"COWD grain table {gdi}", (long)gtSector * Sector.Size, "cannot be read in full");
                continue;
            }
            for (int gti = 0; gti < CowdHeader.EntriesPerGt; gti++)
            {
                uint gte = Gte(gt, gti);
                if (gte == 0) continue;
                long grain = gdi * CowdHeader.EntriesPerGt + gti;
                long gteOffset = (long)gtSector * Sector.Size + gti * sizeof(uint);
                string where = $"COWD grain table {gdi} entry {gti} (grain {grain})";
                if (grain >= _totalGrains)
                {
                    problems.Add(where, gteOffset, $"allocated past the capacity ({_totalGrains} grains)");
                    continue;
                }
                string grainProblem = GrainSectorProblem(gte, grain);
                if (grainProblem.Length > 0)
                {
                    problems.Add(where, gteOffset, grainProblem);
                    continue;
                }
                long grainClash = claimed.Claim(gte, GrainSectorsStored(grain));
                if (grainClash >= 0)
                    problems.Add(where, gteOffset, $"grain at sector {gte} overlaps other metadata or grains at sector {grainClash}");
            }
        }
        return problems.ToList();
    }

    public void Dispose() => _tables.Dispose();

    private static (byte[] Value, long Size) Sized(byte[] page) => (page, page.Length);

    public override string ToString() => FileName;

    /// <summary>Sectors of file that grain <paramref name="grain"/> occupies (the last one may be partial).</summary>
    private long GrainSectorsStored(long grain)
    {
        long bytes = Math.Min(_grainBytes, Length - grain * _grainBytes);
        return (bytes + Sector.Size - 1) / Sector.Size;
    }

    private string GtSectorProblem(uint gtSector)
    {
        if (gtSector < CowdHeader.HeaderSectors)
            return $"grain table sector {gtSector} points into the header";
        long end = (long)gtSector * Sector.Size + CowdHeader.GtBytes;
        if (end > _fileLength)
            return $"grain table at sector {gtSector} ({CowdHeader.GtBytes} bytes) runs past the end of the file ({_fileLength} bytes)";
        return "";
    }

    private string GrainSectorProblem(uint gte, long grain)
    {
        if (gte < CowdHeader.HeaderSectors)
            return $"grain sector {gte} points into the header";
        long end = (long)gte * Sector.Size + GrainSectorsStored(grain) * Sector.Size;
        if (end > _fileLength)
            return $"grain at sector {gte} runs past the end of the file ({_fileLength} bytes)";
        return "";
    }

    /// <summary>The sector of the grain table for directory entry <paramref name="gdi"/>, validated; 0 when none.</summary>
    private uint GrainTableSector(long gdi)
    {
        uint gtSector = GdeRaw(gdi);
        if (gtSector == 0) return 0;
        string problem = GtSectorProblem(gtSector);
        if (problem.Length > 0)
            throw new CorruptDataException($"{FileName}: COWD grain directory entry {gdi}",
                _header.GdByteOffset + gdi * sizeof(uint), problem);
        return gtSector;
    }

    private uint GdeRaw(long gdi)
    {
        if ((ulong)gdi >= _header.NumGdEntries)
            throw new CorruptDataException($"{FileName}: COWD grain directory", _header.GdByteOffset,
                $"index {gdi} is outside the {_header.NumGdEntries} entries");
        return Gde(GdPage(gdi / GdEntriesPerPage), gdi);
    }

    private long EndOfAbsentTables(long gdi) =>
        DeltaGrainDirectoryPage.EndOfAbsentTables(GdPage(gdi / GdEntriesPerPage), gdi, sizeof(uint), _header.NeededGdEntries);

    private static uint Gde(byte[] page, long gdi) =>
        BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan((int)(gdi % GdEntriesPerPage) * sizeof(uint)));

    private byte[] GdPage(long page) =>
        _tables.GetOrAdd(-1 - page, (this, page), static s => Sized(s.Item1.LoadGdPage(s.page)));

    private byte[] LoadGdPage(long page)
    {
        long first = page * GdPageBytes;
        int count = (int)Math.Min(GdPageBytes, _header.GdBytes - first);
        var bytes = new byte[count];
        long at = _header.GdByteOffset + first;
        if (_file.ReadAt(at, bytes) != count)
            throw new CorruptDataException($"{FileName}: COWD grain directory", at,
                $"truncated: {count} bytes needed, the file has {_file.Length}");
        return bytes;
    }

    private byte[] GrainTable(long gdi, uint gtSector) =>
        _tables.GetOrAdd(gdi, (this, gdi, gtSector), static s => Sized(s.Item1.LoadGrainTable(s.gdi, s.gtSector)));

    private byte[] LoadGrainTable(long gdi, uint gtSector)
    {
        var bytes = new byte[CowdHeader.GtBytes];
        long at = (long)gtSector * Sector.Size;
        if (_file.ReadAt(at, bytes) != bytes.Length)
            throw new CorruptDataException($"{FileName}: COWD grain table {gdi}", at,
                $"truncated: {bytes.Length} bytes needed, the file has {_file.Length}");
        return bytes;
    }

    private static uint Gte(byte[] gt, int index) => BinaryPrimitives.ReadUInt32LittleEndian(gt.AsSpan(index * sizeof(uint)));

    /// <summary>File offset of the start of an allocated grain; throws if the grain is not this link's data.</summary>
    long DeltaExtentReader.IGrainLocator.DataFileOffset(long grain, long virtualOffset)
    {
        long gdi = grain / CowdHeader.EntriesPerGt;
        int gti = (int)(grain % CowdHeader.EntriesPerGt);
        uint gtSector = GrainTableSector(gdi);
        uint gte = gtSector == 0 ? 0 : Gte(GrainTable(gdi, gtSector), gti);
        if (gte == 0)
            throw new ContractViolationException($"{FileName}: offset {virtualOffset} is not allocated in this COWD extent; ReadData is for Data runs only");
        if (gte < CowdHeader.HeaderSectors)
            throw new CorruptDataException($"{FileName}: COWD grain table {gdi} entry {gti}",
                (long)gtSector * Sector.Size + gti * sizeof(uint), $"grain sector {gte} points into the header");
        return (long)gte * Sector.Size;
    }
}
