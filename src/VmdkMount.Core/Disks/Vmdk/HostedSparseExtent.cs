using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// A hosted sparse extent (KDMV): monolithicSparse, a twoGbMaxExtentSparse piece, or a streamOptimized file in any of
/// its three layouts. It answers <see cref="IExtent"/> from a grain index (<see cref="GrainTableIndex"/>, or
/// <see cref="TruncatedStreamIndex"/> for a stream cut off before its footer) and reads plain grains straight from
/// the file, compressed ones through <see cref="CompressedGrainReader"/>. Opening reads the header (and the footer,
/// see <see cref="SparseHeaderReader"/>); everything else is read on first use into caches charged to the disk's
/// <see cref="CacheBudget"/> and released when the extent is disposed.
/// </summary>
public sealed class HostedSparseExtent : IExtent
{
    private readonly IReadAt _file;
    private readonly long _fileLength;
    private readonly IGrainIndex _index;
    private readonly CompressedGrainReader? _compressed;
    private readonly List<string> _warnings = new();

    private HostedSparseExtent(IReadAt file, string fileName, SparseExtentHeader header, bool fromFooter, IGrainIndex index, CacheBudget cache)
    {
        _file = file;
        _fileLength = file.Length;
        _index = index;
        _compressed = header.IsCompressed ? new CompressedGrainReader(file, fileName, header, cache) : null;
        FileName = fileName;
        Header = header;
        HeaderFromFooter = fromFooter;
        Length = header.CapacityBytes;
        if (header.UncleanShutdown) _warnings.Add($"{fileName}: sparse header says the disk was not closed cleanly (uncleanShutdown); reading anyway");
        if (header.GtesPerGt != 512) _warnings.Add($"{fileName}: {header.GtesPerGt} entries per grain table (512 is usual)");
        if (header.IsCompressed && header.CapacityBytes % header.GrainBytes != 0)
            _warnings.Add($"{fileName}: capacity is not a whole number of grains; the last grain is partial");
    }

    public string FileName { get; }
    public string Kind => "SPARSE";
    public long Length { get; }
    public SparseExtentHeader Header { get; }
    public long GrainBytes => Header.GrainBytes;
    public bool HeaderFromFooter { get; }
    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>Opens an extent whose header was read with <see cref="SparseHeaderReader.Read"/>; checks that the tables lie inside the file.</summary>
    public static HostedSparseExtent Open(IReadAt file, string fileName, SparseExtentHeader header, bool fromFooter, CacheBudget? cache = null)
    {
        if (header.CapacitySectors == 0)
            throw new CorruptDataException($"{fileName}: sparse extent header", 0x0C, "capacity is 0");
        long len = file.Length;
        long overhead = (long)header.OverHeadSectors * Sector.Size;
        if (overhead > len)
            throw new CorruptDataException($"{fileName}: sparse extent header", 0x40, $"file truncated: overHead is {overhead} bytes but the file has {len}");
        CheckTableRange(fileName, "grain directory", header.GdOffsetSectors, header.GdEntries * 4, len);
        if (header.HasRedundantGd)
            CheckTableRange(fileName, "redundant grain directory", header.RgdOffsetSectors, header.GdEntries * 4, len);
        cache ??= CacheBudget.Shared;
        return new HostedSparseExtent(file, fileName, header, fromFooter, new GrainTableIndex(file, fileName, header, fromFooter, cache), cache);
    }

    /// <summary>
    /// Opens a stream file whose footer is missing (`--recover-truncated`) from its sector-0 header, finding its grains
    /// with <see cref="TruncatedStreamIndex.Walk"/>; what the walk did not reach reads as zeros.
    /// </summary>
    public static HostedSparseExtent OpenTruncatedStream(IReadAt file, string fileName, SparseExtentHeader header, CacheBudget? cache = null)
    {
        var index = TruncatedStreamIndex.Walk(file, fileName, header);
        var extent = new HostedSparseExtent(file, fileName, header, false, index, cache ?? CacheBudget.Shared);
        extent._warnings.Add($"{fileName}: truncated stream (no footer): recovered {index.Count} grain(s) by walking the records up to {index.StoppedAt}; everything else reads as zeros");
        return extent;
    }

    private static void CheckTableRange(string fileName, string what, ulong sector, long bytes, long fileLength)
    {
        if (sector == 0 || sector > (ulong)(fileLength / Sector.Size))
            throw new CorruptDataException($"{fileName}: {what}", (long)Math.Min(sector, long.MaxValue / (2 * Sector.Size)) * Sector.Size,
                sector == 0 ? $"{what} offset is 0" : $"{what} starts past the end of the file ({fileLength} bytes)");
        long start = (long)sector * Sector.Size;
        if (bytes > fileLength - start)
            throw new CorruptDataException($"{fileName}: {what}", start, $"{what} ({bytes} bytes) runs past the end of the file ({fileLength} bytes)");
    }

    public ExtentRun Map(long offset)
    {
        if ((ulong)offset >= (ulong)Length) throw new ContractViolationException($"{FileName}: Map at {offset} is outside the extent ({Length} bytes)");
        return _index.Map(offset);
    }

    public void ReadData(long offset, Span<byte> destination)
    {
        if (offset < 0 || destination.Length > Length - offset)
            throw new ContractViolationException($"{FileName}: read of {destination.Length} bytes at {offset} is outside the extent ({Length} bytes)");
        long grainBytes = Header.GrainBytes;
        while (!destination.IsEmpty)
        {
            long grain = offset / grainBytes;
            long inGrain = offset - grain * grainBytes;
            int n = (int)Math.Min(destination.Length, grainBytes - inGrain);
            uint gte = _index.Entry(grain);
            if (GrainTableEntry.Classify(gte, grain, Header, FileName) != GrainState.Data)
                throw new ContractViolationException($"{FileName}: grain {grain} is not data; ReadData is for Data runs only");
            if (_compressed is not null)
            {
                _compressed.Grain(grain, gte).AsSpan((int)inGrain, n).CopyTo(destination);
            }
            else
            {
                // Grains written in order sit back to back in the file: read every following grain whose data
                // continues where this one ends with the same pread (one syscall per run, not per grain).
                int more = _index.ContiguousGrainsAfter(grain, gte, destination.Length - n);
                n = (int)Math.Min(destination.Length, n + more * grainBytes);
                long at = (long)gte * Sector.Size + inGrain;
                int got = _file.ReadAt(at, destination[..n]);
                if (got != n)
                {
                    long shortGrain = (inGrain + got) / grainBytes;
                    throw new CorruptDataException($"{FileName}: grain {grain + shortGrain}", ((long)gte + shortGrain * (long)Header.GrainSectors) * Sector.Size,
                        $"grain data runs past the end of the file ({_fileLength} bytes)");
                }
            }
            destination = destination[n..];
            offset += n;
        }
    }

    public IReadOnlyList<string> Check() => _index.Check(_compressed);

    public void Dispose()
    {
        _index.Dispose();
        _compressed?.Dispose();
    }
}
