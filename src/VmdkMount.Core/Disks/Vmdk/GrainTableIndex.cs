using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// The grain directory and grain tables of a hosted sparse extent: the directory is read on first use, each table on
/// demand (with the tables that follow it in the file, in one pread) into a cache charged to the disk's budget.
/// </summary>
internal sealed class GrainTableIndex : IGrainIndex
{
    /// <summary>Grain tables read with one pread when the directory lists them back to back (qemu-img and VMware lay them out so).</summary>
    private const int GrainTablesPerRead = 16;

    private static readonly ConcurrentDictionary<int, uint[]> s_emptyTables = new();

    private readonly IReadAt _file;
    private readonly long _fileLength;
    private readonly BoundedCache<uint, uint[]> _grainTables;
    private readonly Lazy<uint[]> _gd;

    public GrainTableIndex(IReadAt file, string fileName, SparseExtentHeader header, bool fromFooter, CacheBudget cache)
    {
        _file = file;
        _fileLength = file.Length;
        _grainTables = new(cache);
        FileName = fileName;
        Header = header;
        HeaderFromFooter = fromFooter;
        Length = header.CapacityBytes;
        // PublicationOnly: a read that failed (the file gone for a moment) is not remembered, so the link recovers.
        _gd = new Lazy<uint[]>(() => ReadDirectory((long)header.GdOffsetSectors * Sector.Size, "grain directory"), LazyThreadSafetyMode.PublicationOnly);
    }

    /// <summary>The extent file the tables are read from (`check` also walks its records).</summary>
    public IReadAt ExtentFile => _file;
    public string FileName { get; }
    public SparseExtentHeader Header { get; }
    /// <summary>The header that located the tables is the stream footer (a VMware-layout streamOptimized file).</summary>
    public bool HeaderFromFooter { get; }
    public long Length { get; }

    /// <summary>The grain directory (read on first use): per grain table, its sector, or 0 when absent.</summary>
    public uint[] Directory => _gd.Value;

    private string Where(string structure) => $"{FileName}: {structure}";

    /// <summary>Reads a grain directory (the primary or the redundant copy) at byte <paramref name="offset"/>.</summary>
    public uint[] ReadDirectory(long offset, string what)
    {
        long entries = Header.GdEntries;
        CheckDirectoryInFile(offset, entries, what);
        // straight into the array, no staging buffer: a directory of 2^25 entries (62 TiB of 4 KiB grains) is 128 MiB
        var gd = new uint[entries];
        ReadDirectoryPart(offset, gd, what);
        return gd;
    }

    /// <summary>
    /// Reads <c>into.Length</c> directory entries at byte <paramref name="offset"/> (a piece of a directory: `check`
    /// compares the redundant copy piece by piece, rather than holding a second directory in memory).
    /// </summary>
    public void ReadDirectoryPart(long offset, Span<uint> into, string what)
    {
        _file.ReadExactly(offset, MemoryMarshal.AsBytes(into), Where(what));
        if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(into, into);
    }

    /// <summary>A directory must lie inside its file: its size comes from the header's capacity, so this is what bounds the memory it takes.</summary>
    public void CheckDirectoryInFile(long offset, long entries, string what)
    {
        if (offset < 0 || offset > _fileLength || entries * 4 > _fileLength - offset)
            throw new CorruptDataException(Where(what), offset, $"{what} ({entries} entries) runs past the end of the file ({_fileLength} bytes)");
    }

    private static uint[] EmptyTable(int entries) => s_emptyTables.GetOrAdd(entries, n => new uint[n]);

    /// <summary>The grain table at <paramref name="gtSector"/>, listed by grain directory entry <paramref name="gdIndex"/>.</summary>
    public uint[] Table(uint gtSector, long gdIndex)
    {
        if (_grainTables.TryGet(gtSector, out var cached)) return cached;
        int bytes = (int)Header.GtesPerGt * 4;
        long off = (long)gtSector * Sector.Size;
        if (off > _fileLength || bytes > _fileLength - off)
            throw new CorruptDataException(Where($"grain table (grain directory entry {gdIndex})"), off,
                $"grain table ({bytes} bytes) runs past the end of the file ({_fileLength} bytes)");
        if (gtSector < 1)
            throw new CorruptDataException(Where($"grain table (grain directory entry {gdIndex})"), off, "grain table inside the header");
        // The neighbours that follow it in the file: a deep chain resolves one table per link for every block it
        // reads, so reading them together saves a syscall per table.
        var gd = _gd.Value;
        uint gtSectors = (uint)(bytes / Sector.Size);
        int count = 1;
        while (count < GrainTablesPerRead && gdIndex + count < gd.Length
               && gd[gdIndex + count] == (long)gtSector + (long)count * gtSectors // long: a crafted entry near 2^32 must not wrap
               && (count + 1L) * bytes <= _fileLength - off)
            count++;
        var raw = ArrayPool<byte>.Shared.Rent(count * bytes);
        try
        {
            _file.ReadExactly(off, raw.AsSpan(0, count * bytes), Where("grain table"));
            uint[] first = null!;
            for (int t = 0; t < count; t++)
            {
                var source = raw.AsSpan(t * bytes, bytes);
                uint[] gt;
                if (source.IndexOfAnyExcept((byte)0) < 0)
                {
                    // A delta link's tables are mostly empty: all of them share one array of zeros (read-only).
                    gt = EmptyTable((int)Header.GtesPerGt);
                    gt = _grainTables.Add(gtSector + (uint)t * gtSectors, gt, 0);
                }
                else
                {
                    gt = new uint[Header.GtesPerGt];
                    MemoryMarshal.Cast<byte, uint>(source).CopyTo(gt);
                    if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(gt, gt);
                    gt = _grainTables.Add(gtSector + (uint)t * gtSectors, gt, bytes);
                }
                if (t == 0) first = gt;
            }
            return first;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    public ExtentRun Map(long offset)
    {
        long grainBytes = Header.GrainBytes;
        long grain = offset / grainBytes;
        long gdi = grain / Header.GtesPerGt;
        int gti = (int)(grain % Header.GtesPerGt);
        var gd = _gd.Value;
        uint gde = gd[gdi];
        if (gde == 0)
        {
            // Every absent table that follows in one step (vectorized): a mostly empty extent costs its directory only.
            int present = gd.AsSpan((int)gdi + 1).IndexOfAnyExcept(0u);
            long absentEnd = present < 0 ? Length : Math.Min(Length, (gdi + 1 + present) * Header.GtCoverageBytes);
            return new ExtentRun(GrainState.Unallocated, absentEnd - offset);
        }
        var gt = Table(gde, gdi);
        var state = GrainTableEntry.Classify(gt[gti], grain, Header, FileName);
        long firstGrainOfTable = gdi * Header.GtesPerGt;
        long grainsInExtent = (Length + grainBytes - 1) / grainBytes;
        var rest = gt.AsSpan(gti + 1, (int)Math.Max(0, Math.Min(gt.Length, grainsInExtent - firstGrainOfTable) - (gti + 1)));
        // Vectorized: an owner map of a deep chain scans every link's table for each block it resolves.
        int other = state switch
        {
            GrainState.Unallocated => rest.IndexOfAnyExcept(GrainTableEntry.Unallocated),
            GrainState.Zero => rest.IndexOfAnyExcept(GrainTableEntry.Zeroed),
            _ => rest.IndexOfAnyInRange(GrainTableEntry.Unallocated, GrainTableEntry.Zeroed),
        };
        int j = gti + 1 + (other < 0 ? rest.Length : other);
        long end = Math.Min(Length, (firstGrainOfTable + j) * grainBytes);
        return new ExtentRun(state, end - offset);
    }

    public uint Entry(long grain)
    {
        long gdi = grain / Header.GtesPerGt;
        uint gde = _gd.Value[gdi];
        return gde == 0 ? GrainTableEntry.Unallocated : Table(gde, gdi)[(int)(grain % Header.GtesPerGt)];
    }

    public int ContiguousGrainsAfter(long grain, uint entry, int wanted)
    {
        if (wanted <= 0) return 0;
        long gdi = grain / Header.GtesPerGt;
        uint gde = _gd.Value[gdi];
        if (gde == 0) return 0;
        var gt = Table(gde, gdi);
        long grainSectors = (long)Header.GrainSectors;
        long grainBytes = Header.GrainBytes;
        int i = (int)(grain % Header.GtesPerGt) + 1;
        int count = 0;
        long expected = entry + grainSectors;
        long reach = wanted;
        while (reach > 0 && i < gt.Length && gt[i] == expected && gt[i] >= Header.OverHeadSectors)
        {
            count++;
            i++;
            expected += grainSectors;
            reach -= grainBytes;
        }
        return count;
    }

    public IReadOnlyList<string> Check(CompressedGrainReader? compressed) => GrainTableCheck.Run(this, compressed);

    public void Dispose() => _grainTables.Dispose();
}
