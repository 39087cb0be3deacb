using System.Buffers;
using System.Buffers.Binary;
using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// ESXi SEsparse delta extent: a grain directory of u64 entries naming grain tables by
/// index in a preallocated region, and 4096-entry tables of u64 typed entries (unallocated, unmapped, zero, or an
/// allocated grain index with swapped halves). Opening reads the constant and volatile headers only; directory
/// pages and grain tables are read on first use into a cache charged to the disk's <see cref="CacheBudget"/>. The extent does not
/// own <c>file</c>.
/// </summary>
public sealed class SeSparseExtent : IExtent, DeltaExtentReader.IGrainLocator
{
    private const int GdPageBytes = DeltaGrainDirectoryPage.Bytes;
    private const int GdEntriesPerPage = GdPageBytes / SeSparseHeader.GdeSize;
    private const int MaxRunScanGrains = 1024;
    private const int EntriesPerGt = SeSparseHeader.EntriesPerGt;

    private readonly IReadAt _file;
    private readonly SeSparseHeader _header;
    private readonly BoundedCache<long, byte[]> _tables;
    private readonly long _fileLength;
    private readonly List<string> _warnings = new();
    private readonly DeltaExtentReader _reader;

    private SeSparseExtent(IReadAt file, string fileName, SeSparseHeader header, SeSparseVolatileHeader volatileHeader, CacheBudget? cache)
    {
        _tables = new(cache ?? CacheBudget.Shared);
        _file = file;
        FileName = fileName;
        _header = header;
        VolatileHeader = volatileHeader;
        _fileLength = file.Length;
        Length = header.CapacityBytes;
        _reader = new DeltaExtentReader(file, fileName, "SEsparse", Length, GrainBytes, this);
    }

    public static IExtent Open(IReadAt file, string fileName) => Open(file, fileName, null);

    /// <summary>Opens the extent with its tables charged to <paramref name="cache"/> (null: the process-wide budget).</summary>
    public static IExtent Open(IReadAt file, string fileName, CacheBudget? cache)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(SeSparseHeader.Size);
        try
        {
            var span = buffer.AsSpan(0, SeSparseHeader.Size);
            int n = file.ReadAt(0, span);
            var header = SeSparseHeader.Parse(span[..n], fileName, file.Length);
            long at = header.VolatileHeader.ByteOffset;
            n = file.ReadAt(at, span);
            var volatileHeader = SeSparseVolatileHeader.Parse(span[..n], fileName, at);
            return new SeSparseExtent(file, fileName, header, volatileHeader, cache);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public string FileName { get; }
    public string Kind => "SESPARSE";

    public long Length { get; }

    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>Bytes per grain (always 4096), for `info`.</summary>
    public long GrainBytes => SeSparseHeader.GrainBytes;

    internal SeSparseHeader Header => _header;

    internal SeSparseVolatileHeader VolatileHeader { get; }

    public ExtentRun Map(long offset)
    {
        if ((ulong)offset >= (ulong)Length) throw new ContractViolationException($"{FileName}: Map at {offset} is outside the extent ({Length} bytes)");
        long grain = offset / GrainBytes;
        long gdi = grain / EntriesPerGt;
        int gti = (int)(grain % EntriesPerGt);

        long gtIndex = GrainTableIndex(gdi);
        GrainState state;
        long runEndGrain;
        if (gtIndex < 0)
        {
            state = GrainState.Unallocated;
            runEndGrain = EndOfAbsentTables(gdi) * EntriesPerGt;
        }
        else
        {
            byte[] gt = GrainTable(gdi, gtIndex);
            ulong entry = Gte(gt, gti);
            var kind = SeSparseGrainTableEntry.Kind(entry);
            if (kind == SeSparseGrainKind.Invalid) throw BadEntry(gdi, gtIndex, gti, entry);
            state = SeSparseGrainTableEntry.State(kind);
            int limit = Math.Min(EntriesPerGt, gti + 1 + MaxRunScanGrains);
            int next = gti + 1;
            while (next < limit)
            {
                var k = SeSparseGrainTableEntry.Kind(Gte(gt, next));
                if (k == SeSparseGrainKind.Invalid || SeSparseGrainTableEntry.State(k) != state) break;
                next++;
            }
            runEndGrain = gdi * EntriesPerGt + next;
        }
        long end = Math.Min(Length, runEndGrain * GrainBytes);
        return new ExtentRun(state, end - offset);
    }

    public void ReadData(long offset, Span<byte> destination) => _reader.ReadData(offset, destination);

    public IReadOnlyList<string> Check()
    {
        var problems = new DeltaProblems(FileName);
        CheckRegions(problems);

        long gtSlotsInFile = Math.Max(0, (_fileLength - _header.GrainTables.ByteOffset) / SeSparseHeader.GtBytes);
        var gtSlotsUsed = new DeltaOverlapMap(Math.Min(_header.GtSlots, gtSlotsInFile));
        long grainSlotsInFile = Math.Max(0, (_fileLength - _header.Grains.ByteOffset + GrainBytes - 1) / GrainBytes);
        var grainSlotsUsed = new DeltaOverlapMap(Math.Min(_header.GrainSlots, grainSlotsInFile));
        long totalGrains = _header.TotalGrains;
        byte[] gt = new byte[SeSparseHeader.GtBytes];
        for (long gdi = 0; gdi < _header.NeededGdEntries; gdi++)
        {
            ulong gde = GdeRaw(gdi);
            if (gde == 0) continue;
            long gdeOffset = _header.GrainDirectory.ByteOffset + gdi * SeSparseHeader.GdeSize;
            string gdProblem = GdeProblem(gde, out long gtIndex);
            if (gdProblem.Length > 0)
            {
                problems.Add($"SEsparse grain directory entry {gdi}", gdeOffset, gdProblem);
                continue;
            }
            if (gtSlotsUsed.Claim(gtIndex, 1) >= 0)
                problems.Add($"SEsparse grain directory entry {gdi}", gdeOffset, $"grain table {gtIndex} is also used by another entry");
            long gtOffset = GtByteOffset(gtIndex);
            if (_file.ReadAt(gtOffset, gt) != gt.Length)
            {
                problems.Add($"SEsparse grain table {gtIndex}", gtOffset, "cannot be read in full");
                continue;
            }
            for (int gti = 0; gti < EntriesPerGt; gti++)
            {
                ulong entry = Gte(gt, gti);
                if (entry == 0) continue;
                long grain = gdi * EntriesPerGt + gti;
                long entryOffset = gtOffset + gti * sizeof(ulong);
                string where = $"SEsparse grain table {gtIndex} entry {gti} (grain {grain})";
                var kind = SeSparseGrainTableEntry.Kind(entry);
                if (kind == SeSparseGrainKind.Invalid)
                {
                    problems.Add(where, entryOffset, $"invalid entry 0x{entry:x16}");
                    continue;
                }
                if (grain >= totalGrains)
                {
                    problems.Add(where, entryOffset, $"entry 0x{entry:x16} past the capacity ({totalGrains} grains)");
                    continue;
                }
                if (kind != SeSparseGrainKind.Allocated) continue;
                long index = SeSparseGrainTableEntry.GrainIndex(entry);
                string grainProblem = GrainProblem(index, grain);
                if (grainProblem.Length > 0)
                {
                    problems.Add(where, entryOffset, grainProblem);
                    continue;
                }
                if (grainSlotsUsed.Claim(index, 1) >= 0)
                    problems.Add(where, entryOffset, $"grain slot {index} is also used by another entry");
            }
        }
        return problems.ToList();
    }

    public void Dispose() => _tables.Dispose();

    private static (byte[] Value, long Size) Sized(byte[] page) => (page, page.Length);

    public override string ToString() => FileName;

    /// <summary>Metadata regions must not overlap one another or the header; the grains region may end past EOF.</summary>
    private void CheckRegions(DeltaProblems problems)
    {
        var regions = new[]
        {
            new SeSparseRegion("header", 0, 1), _header.VolatileHeader, _header.JournalHeader, _header.Journal,
            _header.GrainDirectory, _header.GrainTables, _header.FreeBitmap, _header.BackMap, _header.Grains,
        };
        for (int i = 0; i < regions.Length; i++)
        for (int j = i + 1; j < regions.Length; j++)
        {
            var a = regions[i];
            var b = regions[j];
            if (a.SizeSectors == 0 || b.SizeSectors == 0) continue;
            if (a.OffsetSector < b.EndSector && b.OffsetSector < a.EndSector)
                problems.Add("SEsparse header", 0,
                    $"{a.Name} region (sectors {a.OffsetSector}-{a.EndSector - 1}) overlaps {b.Name} region (sectors {b.OffsetSector}-{b.EndSector - 1})");
        }
    }

    private string GdeProblem(ulong gde, out long gtIndex)
    {
        if (!SeSparseGrainDirectoryEntry.TryDecode(gde, out gtIndex))
            return $"invalid entry 0x{gde:x16} (the top 32 bits must be 0x10000000)";
        if (gtIndex >= _header.GtSlots)
            return $"grain table index {gtIndex} is outside the grain-tables region ({_header.GtSlots} tables)";
        long end = GtByteOffset(gtIndex) + SeSparseHeader.GtBytes;
        if (end > _fileLength)
            return $"grain table {gtIndex} at offset {GtByteOffset(gtIndex)} runs past the end of the file ({_fileLength} bytes)";
        return "";
    }

    private string GrainProblem(long index, long grain)
    {
        if (index >= _header.GrainSlots)
            return $"grain index {index} is outside the grains region ({_header.GrainSlots} grains)";
        long bytes = Math.Min(GrainBytes, Length - grain * GrainBytes);
        long end = GrainByteOffset(index) + bytes;
        if (end > _fileLength)
            return $"grain {index} at offset {GrainByteOffset(index)} runs past the end of the file ({_fileLength} bytes)";
        return "";
    }

    private long GtByteOffset(long gtIndex) => _header.GrainTables.ByteOffset + gtIndex * SeSparseHeader.GtBytes;

    /// <summary>Cannot overflow: the index is below GrainSlots, so the result is inside the checked grains region.</summary>
    private long GrainByteOffset(long index) => _header.Grains.ByteOffset + index * GrainBytes;

    /// <summary>The GT index for directory entry <paramref name="gdi"/>, validated; -1 when there is none.</summary>
    private long GrainTableIndex(long gdi)
    {
        ulong gde = GdeRaw(gdi);
        if (gde == 0) return -1;
        string problem = GdeProblem(gde, out long gtIndex);
        if (problem.Length > 0)
            throw new CorruptDataException($"{FileName}: SEsparse grain directory entry {gdi}",
                _header.GrainDirectory.ByteOffset + gdi * SeSparseHeader.GdeSize, problem);
        return gtIndex;
    }

    private ulong GdeRaw(long gdi)
    {
        if ((ulong)gdi >= (ulong)_header.NeededGdEntries)
            throw new CorruptDataException($"{FileName}: SEsparse grain directory", _header.GrainDirectory.ByteOffset,
                $"index {gdi} is outside the {_header.NeededGdEntries} entries the capacity needs");
        return Gde(GdPage(gdi / GdEntriesPerPage), gdi);
    }

    private long EndOfAbsentTables(long gdi) =>
        DeltaGrainDirectoryPage.EndOfAbsentTables(GdPage(gdi / GdEntriesPerPage), gdi, SeSparseHeader.GdeSize, _header.NeededGdEntries);

    private static ulong Gde(byte[] page, long gdi) =>
        BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan((int)(gdi % GdEntriesPerPage) * SeSparseHeader.GdeSize));

    private byte[] GdPage(long page) =>
        _tables.GetOrAdd(-1 - page, (this, page), static s => Sized(s.Item1.LoadGdPage(s.page)));

    private byte[] LoadGdPage(long page)
    {
        long first = page * GdPageBytes;
        int count = (int)Math.Min(GdPageBytes, _header.NeededGdEntries * SeSparseHeader.GdeSize - first);
        var bytes = new byte[count];
        long at = _header.GrainDirectory.ByteOffset + first;
        if (_file.ReadAt(at, bytes) != count)
            throw new CorruptDataException($"{FileName}: SEsparse grain directory", at,
                $"truncated: {count} bytes needed, the file has {_file.Length}");
        return bytes;
    }

    private byte[] GrainTable(long gdi, long gtIndex) =>
        _tables.GetOrAdd(gdi, (this, gtIndex), static s => Sized(s.Item1.LoadGrainTable(s.gtIndex)));

    private byte[] LoadGrainTable(long gtIndex)
    {
        var bytes = new byte[SeSparseHeader.GtBytes];
        long at = GtByteOffset(gtIndex);
        if (_file.ReadAt(at, bytes) != bytes.Length)
            throw new CorruptDataException($"{FileName}: SEsparse grain table {gtIndex}", at,
                $"truncated: {bytes.Length} bytes needed, the file has {_file.Length}");
        return bytes;
    }

    private static ulong Gte(byte[] gt, int index) => BinaryPrimitives.ReadUInt64LittleEndian(gt.AsSpan(index * sizeof(ulong)));

    private CorruptDataException BadEntry(long gdi, long gtIndex, int gti, ulong entry) =>
        new($"{FileName}: SEsparse grain table {gtIndex} entry {gti} (grain {gdi * EntriesPerGt + gti})",
            GtByteOffset(gtIndex) + gti * sizeof(ulong),
            $"invalid entry 0x{entry:x16} (type nibble {entry >> 60:x}; type 0 must be all zero, types 4-15 are unknown)");

    /// <summary>File offset of the start of an allocated grain; throws if the grain is not this link's data.</summary>
    long DeltaExtentReader.IGrainLocator.DataFileOffset(long grain, long virtualOffset)
    {
        long gdi = grain / EntriesPerGt;
        int gti = (int)(grain % EntriesPerGt);
        long gtIndex = GrainTableIndex(gdi);
        if (gtIndex < 0)
            throw new ContractViolationException($"{FileName}: offset {virtualOffset} is not allocated in this SEsparse extent; ReadData is for Data runs only");
        ulong entry = Gte(GrainTable(gdi, gtIndex), gti);
        var kind = SeSparseGrainTableEntry.Kind(entry);
        if (kind == SeSparseGrainKind.Invalid) throw BadEntry(gdi, gtIndex, gti, entry);
        if (kind != SeSparseGrainKind.Allocated)
            throw new ContractViolationException($"{FileName}: offset {virtualOffset} is {kind} in this SEsparse extent; ReadData is for Data runs only");
        long index = SeSparseGrainTableEntry.GrainIndex(entry);
        if (index >= _header.GrainSlots)
            throw new CorruptDataException($"{FileName}: SEsparse grain table {gtIndex} entry {gti} (grain {grain})",
                GtByteOffset(gtIndex) + gti * sizeof(ulong),
                $"grain index {index} is outside the grains region ({_header.GrainSlots} grains)");
        return GrainByteOffset(index);
    }
}
