using System.Buffers;
using System.Collections.Concurrent;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// A hosted sparse extent (KDMV, digest sections 2 and 3): monolithicSparse, a twoGbMaxExtentSparse piece, or a
/// streamOptimized file in any of its three layouts. Opening reads the header (and the footer when the grain
/// directory is at the end); the grain directory is read on first use, grain tables and decompressed grains on
/// demand into caches charged to the disk's <see cref="CacheBudget"/> and released when the extent is disposed.
/// </summary>
public sealed class HostedSparseExtent : IExtent
{
    /// <summary>Footer marker, footer, EOS marker: the last three sectors of a VMware-layout stream file.</summary>
    private const int FooterTailBytes = 3 * 512;
    private const int MaxProblems = 100;

    private readonly IReadAt _file;
    private readonly BoundedCache<uint, uint[]> _grainTables;
    private readonly BoundedCache<long, byte[]> _grains;
    private readonly Lazy<uint[]> _gd;
    private readonly List<string> _warnings = new();
    private readonly long _fileLength;

    /// <summary>For a truncated stream read without its footer: grain index -> record sector, from a walk of the stream.</summary>
    private Dictionary<long, uint>? _recovered;

    private HostedSparseExtent(IReadAt file, string fileName, SparseExtentHeader header, bool fromFooter, CacheBudget? cache)
    {
        _grainTables = new(cache ?? CacheBudget.Shared);
        _grains = new(cache ?? CacheBudget.Shared);
        _file = file;
        _fileLength = file.Length;
        FileName = fileName;
        Header = header;
        HeaderFromFooter = fromFooter;
        Length = header.CapacityBytes;
        _gd = new Lazy<uint[]>(() => ReadDirectory((long)header.GdOffsetSectors * 512, "grain directory"), LazyThreadSafetyMode.ExecutionAndPublication);
        if (header.UncleanShutdown) _warnings.Add($"{fileName}: sparse header says the disk was not closed cleanly (uncleanShutdown); reading anyway");
        if (header.GtesPerGt != 512) _warnings.Add($"{fileName}: {header.GtesPerGt} entries per grain table (512 is usual)");
        if (header.IsCompressed && header.CapacityBytes % header.GrainBytes != 0)
            _warnings.Add($"{fileName}: capacity is not a whole number of grains; the last grain is partial");
    }

    public string FileName { get; }
    public long Length { get; }
    public SparseExtentHeader Header { get; }
    public long GrainBytes => Header.GrainBytes;
    public bool HeaderFromFooter { get; }
    public IReadOnlyList<string> Warnings => _warnings;

    private string Where(string structure) => $"{FileName}: {structure}";

    /// <summary>Reads and validates the header (using the footer when gdOffset is GD_AT_END). Capacity 0 is let through for the descriptor-container case.</summary>
    public static SparseExtentHeader ReadHeader(IReadAt file, string fileName, out bool fromFooter)
    {
        fromFooter = false;
        Span<byte> sector = stackalloc byte[SparseExtentHeader.Size];
        file.ReadExactly(0, sector, $"{fileName}: sparse extent header");
        var header = SparseExtentHeader.Parse(sector, $"{fileName}: sparse extent header", 0, allowZeroCapacity: true);
        if (!header.GdIsAtEnd) return header;

        long tail = file.Length - FooterTailBytes;
        if (tail < SparseExtentHeader.Size)
            throw new CorruptDataException($"{fileName}: stream footer", Math.Max(0, tail), "invalid footer: the file is too short to hold footer marker, footer and end-of-stream marker (truncated?)");
        Span<byte> tailBytes = stackalloc byte[FooterTailBytes];
        file.ReadExactly(tail, tailBytes, $"{fileName}: stream footer");
        var footerMarker = StreamMarker.Read(tailBytes);
        if (!footerMarker.IsMarker || footerMarker.Type != StreamMarker.TypeFooter)
            throw new CorruptDataException($"{fileName}: stream footer marker", tail,
                "invalid footer: grain directory is at the end (GD_AT_END) but no footer marker precedes the last two sectors (file truncated or not finished?)");
        var eos = StreamMarker.Read(tailBytes[1024..]);
        if (!eos.IsMarker || eos.Type != StreamMarker.TypeEos || eos.Value != 0)
            throw new CorruptDataException($"{fileName}: end-of-stream marker", tail + 1024, "invalid footer: the last sector is not an end-of-stream marker");
        var footer = SparseExtentHeader.Parse(tailBytes.Slice(512, 512), $"{fileName}: stream footer", tail + 512, allowZeroCapacity: true);
        if (footer.GdIsAtEnd)
            throw new CorruptDataException($"{fileName}: stream footer", tail + 512 + SparseExtentHeader.GdOffsetField, "invalid footer: its gdOffset is GD_AT_END again");
        fromFooter = true;
        return footer;
    }

    /// <summary>The header in sector 0 (not the footer), or null when it does not parse.</summary>
    public static SparseExtentHeader? FirstHeader(IReadAt file, string fileName)
    {
        Span<byte> sector = stackalloc byte[SparseExtentHeader.Size];
        if (file.ReadAt(0, sector) != sector.Length) return null;
        try
        {
            return SparseExtentHeader.Parse(sector, $"{fileName}: sparse extent header", 0, allowZeroCapacity: false);
        }
        catch (VmdkMountException)
        {
            return null;
        }
    }

    /// <summary>
    /// Opens a stream file whose footer is missing by walking its grain records from overHead (digest 3.3,
    /// "fallback for truncated streams"); the walk stops at the first record or marker that does not fit the file.
    /// </summary>
    public static HostedSparseExtent OpenTruncatedStream(IReadAt file, string fileName, SparseExtentHeader header, CacheBudget? cache = null)
    {
        var extent = new HostedSparseExtent(file, fileName, header, false, cache);
        var map = new Dictionary<long, uint>();
        long length = file.Length, pos = (long)header.OverHeadSectors * 512, grainBytes = header.GrainBytes;
        Span<byte> head = stackalloc byte[16];
        string stop = "the end of the file";
        while (pos + 512 <= length)
        {
            file.ReadExactly(pos, head, $"{fileName}: stream record");
            var m = StreamMarker.Read(head);
            if (!m.IsMarker)
            {
                long next = pos + (12 + m.Size + 511) / 512 * 512;
                if (m.Size > 2 * grainBytes || next > length || m.Value % header.GrainSectors != 0 || m.Value >= header.CapacitySectors)
                {
                    stop = $"an incomplete or invalid grain record at offset {pos}";
                    break;
                }
                map[(long)(m.Value / header.GrainSectors)] = (uint)(pos / 512);
                pos = next;
            }
            else if (m.Type == StreamMarker.TypeEos) { stop = $"the end-of-stream marker at offset {pos}"; break; }
            else if (m.Type is StreamMarker.TypeGrainTable or StreamMarker.TypeGrainDirectory or StreamMarker.TypeFooter && m.Value <= (ulong)((length - pos) / 512))
                pos += (1 + (long)m.Value) * 512;
            else if (m.Type == StreamMarker.TypeProgress) pos += 512;
            else { stop = $"an invalid marker at offset {pos}"; break; }
        }
        extent._recovered = map;
        extent._warnings.Add($"{fileName}: truncated stream (no footer): recovered {map.Count} grain(s) by walking the records up to {stop}; everything else reads as zeros");
        return extent;
    }

    /// <summary>The embedded descriptor bytes, or null when the header has none.</summary>
    public static byte[]? ReadEmbeddedDescriptor(IReadAt file, SparseExtentHeader header, string fileName)
    {
        if (header.DescriptorOffsetSectors == 0 || header.DescriptorSizeSectors == 0) return null;
        long off = (long)header.DescriptorOffsetSectors * 512;
        long len = (long)header.DescriptorSizeSectors * 512;
        if (off > file.Length || len > file.Length - off)
            throw new CorruptDataException($"{fileName}: embedded descriptor", off, $"embedded descriptor ({len} bytes) runs past the end of the file ({file.Length} bytes)");
        var bytes = new byte[len];
        file.ReadExactly(off, bytes, $"{fileName}: embedded descriptor");
        int nul = Array.IndexOf(bytes, (byte)0);
        return nul >= 0 ? bytes[..nul] : bytes;
    }

    /// <summary>Opens an extent whose header was read with <see cref="ReadHeader"/>; checks that the tables lie inside the file.</summary>
    public static HostedSparseExtent Open(IReadAt file, string fileName, SparseExtentHeader header, bool fromFooter, CacheBudget? cache = null)
    {
        if (header.CapacitySectors == 0)
            throw new CorruptDataException($"{fileName}: sparse extent header", 0x0C, "capacity is 0");
        long len = file.Length;
        long overhead = (long)header.OverHeadSectors * 512;
        if (overhead > len)
            throw new CorruptDataException($"{fileName}: sparse extent header", 0x40, $"file truncated: overHead is {overhead} bytes but the file has {len}");
        CheckTableRange(fileName, "grain directory", header.GdOffsetSectors, header.GdEntries * 4, len);
        if (header.HasRedundantGd)
            CheckTableRange(fileName, "redundant grain directory", header.RgdOffsetSectors, header.GdEntries * 4, len);
        return new HostedSparseExtent(file, fileName, header, fromFooter, cache);
    }

    private static void CheckTableRange(string fileName, string what, ulong sector, long bytes, long fileLength)
    {
        if (sector == 0 || sector > (ulong)(fileLength / 512))
            throw new CorruptDataException($"{fileName}: {what}", (long)Math.Min(sector, long.MaxValue / 1024) * 512,
                sector == 0 ? $"{what} offset is 0" : $"{what} starts past the end of the file ({fileLength} bytes)");
        long start = (long)sector * 512;
        if (bytes > fileLength - start)
            throw new CorruptDataException($"{fileName}: {what}", start, $"{what} ({bytes} bytes) runs past the end of the file ({fileLength} bytes)");
    }

    private uint[] ReadDirectory(long offset, string what)
    {
        long entries = Header.GdEntries;
        var bytes = ArrayPool<byte>.Shared.Rent((int)(entries * 4));
        try
        {
            _file.ReadExactly(offset, bytes.AsSpan(0, (int)(entries * 4)), Where(what));
            var gd = new uint[entries];
            for (int i = 0; i < gd.Length; i++) gd[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i * 4));
            return gd;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>Grain tables read with one pread when the directory lists them back to back (qemu-img and VMware lay them out so).</summary>
    private const int GrainTablesPerRead = 16;

    private static readonly ConcurrentDictionary<int, uint[]> s_emptyTables = new();

    private static uint[] EmptyTable(int entries) => s_emptyTables.GetOrAdd(entries, n => new uint[n]);

    private uint[] GrainTable(uint gtSector, long gdIndex)
    {
        if (_grainTables.TryGet(gtSector, out var cached)) return cached;
        int bytes = (int)Header.GtesPerGt * 4;
        long off = (long)gtSector * 512;
        if (off > _fileLength || bytes > _fileLength - off)
            throw new CorruptDataException(Where($"grain table (grain directory entry {gdIndex})"), off,
                $"grain table ({bytes} bytes) runs past the end of the file ({_fileLength} bytes)");
        if (gtSector < 1)
            throw new CorruptDataException(Where($"grain table (grain directory entry {gdIndex})"), off, "grain table inside the header");
        // The neighbours that follow it in the file: a deep chain resolves one table per link for every block it
        // reads, so reading them together saves a syscall per table.
        var gd = _gd.Value;
        uint gtSectors = (uint)(bytes / 512);
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

    private GrainState Classify(uint gte, long grain)
    {
        if (gte == 0) return GrainState.Unallocated;
        if (gte == 1) return GrainState.Zero;
        if (gte < Header.OverHeadSectors)
            throw new CorruptDataException(Where($"grain table entry of grain {grain}"), (long)gte * 512,
                $"grain points inside the metadata area (sector {gte} < overHead {Header.OverHeadSectors})");
        return GrainState.Data;
    }

    public ExtentRun Map(long offset)
    {
        if ((ulong)offset >= (ulong)Length) throw new ArgumentOutOfRangeException(nameof(offset));
        long grainBytes = Header.GrainBytes;
        long grain = offset / grainBytes;
        if (_recovered is { } rec)
        {
            bool has = rec.ContainsKey(grain);
            long g = grain + 1, limit = grain + Header.GtesPerGt;
            while (g < limit && g * grainBytes < Length && rec.ContainsKey(g) == has) g++;
            return new ExtentRun(has ? GrainState.Data : GrainState.Unallocated, Math.Min(Length, g * grainBytes) - offset);
        }
        long gdi = grain / Header.GtesPerGt;
        int gti = (int)(grain % Header.GtesPerGt);
        var gd = _gd.Value;
        uint gde = gd[gdi];
        long tableEnd = Math.Min(Length, (gdi + 1) * Header.GtCoverageBytes);
        if (gde == 0)
        {
            // Every absent table that follows in one step (vectorized): a mostly empty extent costs its directory only.
            int present = gd.AsSpan((int)gdi + 1).IndexOfAnyExcept(0u);
            long absentEnd = present < 0 ? Length : Math.Min(Length, (gdi + 1 + present) * Header.GtCoverageBytes);
            return new ExtentRun(GrainState.Unallocated, absentEnd - offset);
        }
        var gt = GrainTable(gde, gdi);
        var state = Classify(gt[gti], grain);
        long firstGrainOfTable = gdi * Header.GtesPerGt;
        long grainsInExtent = (Length + grainBytes - 1) / grainBytes;
        var rest = gt.AsSpan(gti + 1, (int)Math.Max(0, Math.Min(gt.Length, grainsInExtent - firstGrainOfTable) - (gti + 1)));
        // Vectorized: an owner map of a deep chain scans every link's table for each block it resolves.
        int other = state switch
        {
            GrainState.Unallocated => rest.IndexOfAnyExcept(0u),
            GrainState.Zero => rest.IndexOfAnyExcept(1u),
            _ => rest.IndexOfAnyInRange(0u, 1u),
        };
        int j = gti + 1 + (other < 0 ? rest.Length : other);
        long end = Math.Min(Length, (firstGrainOfTable + j) * grainBytes);
        return new ExtentRun(state, end - offset);
    }

    private uint GrainEntry(long grain)
    {
        if (_recovered is { } rec) return rec.GetValueOrDefault(grain);
        long gdi = grain / Header.GtesPerGt;
        uint gde = _gd.Value[gdi];
        return gde == 0 ? 0 : GrainTable(gde, gdi)[(int)(grain % Header.GtesPerGt)];
    }

    public void ReadData(long offset, Span<byte> destination)
    {
        if (offset < 0 || destination.Length > Length - offset) throw new ArgumentOutOfRangeException(nameof(offset));
        long grainBytes = Header.GrainBytes;
        while (!destination.IsEmpty)
        {
            long grain = offset / grainBytes;
            long inGrain = offset - grain * grainBytes;
            int n = (int)Math.Min(destination.Length, grainBytes - inGrain);
            uint gte = GrainEntry(grain);
            if (Classify(gte, grain) != GrainState.Data)
                throw new InvalidOperationException($"{FileName}: grain {grain} is not data");
            if (Header.IsCompressed)
            {
                var data = DecompressedGrain(grain, gte);
                data.AsSpan((int)inGrain, n).CopyTo(destination);
            }
            else
            {
                // Grains written in order sit back to back in the file: read every following grain whose data
                // continues where this one ends with the same pread (one syscall per run, not per grain).
                int more = ContiguousGrainsAfter(grain, gte, destination.Length - n);
                n = (int)Math.Min(destination.Length, n + more * grainBytes);
                long at = (long)gte * 512 + inGrain;
                int got = _file.ReadAt(at, destination[..n]);
                if (got != n)
                {
                    long shortGrain = (inGrain + got) / grainBytes;
                    throw new CorruptDataException(Where($"grain {grain + shortGrain}"), ((long)gte + shortGrain * (long)Header.GrainSectors) * 512,
                        $"grain data runs past the end of the file ({_fileLength} bytes)");
                }
            }
            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>
    /// How many grains after <paramref name="grain"/> (within its grain table) hold data stored right after the
    /// previous one's, counting only as many as <paramref name="wanted"/> more bytes reach into.
    /// </summary>
    private int ContiguousGrainsAfter(long grain, uint gte, int wanted)
    {
        if (wanted <= 0 || _recovered is not null) return 0;
        long gdi = grain / Header.GtesPerGt;
        uint gde = _gd.Value[gdi];
        if (gde == 0) return 0;
        var gt = GrainTable(gde, gdi);
        long grainSectors = (long)Header.GrainSectors;
        long grainBytes = Header.GrainBytes;
        int i = (int)(grain % Header.GtesPerGt) + 1;
        int count = 0;
        long expected = gte + grainSectors;
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

    private byte[] DecompressedGrain(long grain, uint gte) =>
        _grains.GetOrAdd(grain, (this, grain, gte), static s =>
        {
            var data = s.Item1.Decompress(s.grain, s.gte, out _);
            return (data, data.Length);
        });

    /// <summary>Decodes the compressed grain record at sector <paramref name="gte"/> (digest 3.1, 3.2).</summary>
    private byte[] Decompress(long grain, uint gte, out long recordSectors)
    {
        long at = (long)gte * 512;
        string where = Where($"compressed grain record of grain {grain}");
        Span<byte> head = stackalloc byte[12];
        if (at > _fileLength - 12) throw new CorruptDataException(where, at, $"record starts past the end of the file ({_fileLength} bytes)");
        _file.ReadExactly(at, head, where);
        long payloadAt;
        uint size;
        if (Header.HasMarkers)
        {
            ulong lba = BinaryPrimitives.ReadUInt64LittleEndian(head);
            size = BinaryPrimitives.ReadUInt32LittleEndian(head[8..]);
            ulong expected = (ulong)grain * Header.GrainSectors;
            if (size != 0 && lba != expected)
                throw new CorruptDataException(where, at, $"record LBA {lba} differs from the grain's LBA {expected}");
            payloadAt = at + 12;
        }
        else
        {
            size = BinaryPrimitives.ReadUInt32LittleEndian(head);
            payloadAt = at + 4;
        }
        long grainBytes = Header.GrainBytes;
        if (size == 0) throw new CorruptDataException(where, at, "record size is 0 (a marker where a grain should be)");
        if (size > 2 * grainBytes) throw new CorruptDataException(where, at, $"record size {size} is larger than twice the grain size");
        if (size > _fileLength - payloadAt) throw new CorruptDataException(where, at, $"record ({size} bytes) runs past the end of the file ({_fileLength} bytes)");
        recordSectors = (payloadAt - at + size + 511) / 512;
        var compressed = ArrayPool<byte>.Shared.Rent((int)size);
        try
        {
            _file.ReadExactly(payloadAt, compressed.AsSpan(0, (int)size), where);
            var output = new byte[grainBytes];
            int total = ZlibGrain.Inflate(compressed.AsSpan(0, (int)size), output, out bool overflow, where, at);
            long valid = Math.Min(grainBytes, Length - grain * grainBytes);
            if (overflow || (total != grainBytes && total != valid))
                throw new CorruptDataException(where, at, overflow
                    ? $"decompresses to more than the grain size ({grainBytes} bytes)"
                    : $"decompresses to {total} bytes, expected {grainBytes}");
            return output;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }

    public IReadOnlyList<string> Check()
    {
        var problems = new List<string>();
        if (_recovered is not null) return [$"{FileName}: truncated stream: no footer, no grain directory (read by walking the records)"];
        void Report(string p)
        {
            if (problems.Count < MaxProblems) problems.Add(p);
            else if (problems.Count == MaxProblems) problems.Add($"{FileName}: more problems not listed");
        }
        uint[] gd;
        try { gd = _gd.Value; }
        catch (VmdkMountException e) { return [e.Message]; }
        var used = new List<(uint Start, long Sectors, long Grain)>();
        long grainBytes = Header.GrainBytes;
        for (long gdi = 0; gdi < gd.Length && problems.Count <= MaxProblems; gdi++)
        {
            if (gd[gdi] == 0) continue;
            uint[] gt;
            try { gt = GrainTable(gd[gdi], gdi); }
            catch (VmdkMountException e) { Report(e.Message); continue; }
            for (int i = 0; i < gt.Length; i++)
            {
                long grain = gdi * Header.GtesPerGt + i;
                uint gte = gt[i];
                if (gte == 0) continue;
                if (grain * grainBytes >= Length)
                {
                    Report($"{FileName}: grain table entry {i} of table {gdi} (grain {grain}) lies beyond the capacity");
                    continue;
                }
                if (gte == 1)
                {
                    if (!Header.HasZeroedGrainGte) Report($"{FileName}: grain {grain} has entry 1 but zeroed-grain entries are not enabled (read as zeros)");
                    continue;
                }
                try
                {
                    Classify(gte, grain);
                    if (Header.IsCompressed)
                    {
                        Decompress(grain, gte, out long sectors);
                        used.Add((gte, sectors, grain));
                    }
                    else
                    {
                        long need = Math.Min(grainBytes, Length - grain * grainBytes);
                        if ((long)gte * 512 + need > _fileLength)
                            Report($"{FileName}: grain {grain} points after the end of the file (sector {gte})");
                        used.Add((gte, (long)Header.GrainSectors, grain));
                    }
                }
                catch (VmdkMountException e) { Report(e.Message); }
            }
        }
        used.Sort((a, b) => a.Start.CompareTo(b.Start));
        for (int i = 1; i < used.Count; i++)
            if (used[i - 1].Start + used[i - 1].Sectors > used[i].Start)
                Report($"{FileName}: grains {used[i - 1].Grain} and {used[i].Grain} overlap (sectors {used[i - 1].Start} and {used[i].Start})");
        if (Header.HasRedundantGd) CheckRedundant(gd, Report);
        // Only the VMware layout (footer at the end) is a pure sequence of records and markers; qemu may leave
        // stale bytes between records of a stream file it wrote to, which a sequential walk would misread.
        if (Header.HasMarkers && HeaderFromFooter)
        {
            try { StreamScanner.Scan(_file, FileName, Header, Report); }
            catch (VmdkMountException e) { Report(e.Message); }
        }
        return problems;
    }

    private void CheckRedundant(uint[] gd, Action<string> report)
    {
        uint[] rgd;
        try { rgd = ReadDirectory((long)Header.RgdOffsetSectors * 512, "redundant grain directory"); }
        catch (VmdkMountException e) { report(e.Message); return; }
        for (long gdi = 0; gdi < gd.Length; gdi++)
        {
            if ((gd[gdi] == 0) != (rgd[gdi] == 0))
            {
                report($"{FileName}: grain directory and its redundant copy differ at entry {gdi}");
                continue;
            }
            if (gd[gdi] == 0) continue;
            try
            {
                var a = GrainTable(gd[gdi], gdi);
                var b = GrainTable(rgd[gdi], gdi);
                if (!a.AsSpan().SequenceEqual(b)) report($"{FileName}: grain table {gdi} and its redundant copy differ");
            }
            catch (VmdkMountException e) { report(e.Message); }
        }
    }

    public void Dispose()
    {
        _grainTables.Dispose();
        _grains.Dispose();
    }
}
