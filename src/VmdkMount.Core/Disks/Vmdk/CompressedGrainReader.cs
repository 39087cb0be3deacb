using System.Buffers;
using System.Buffers.Binary;
using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// The compressed grains of a streamOptimized extent: decodes one grain record (the LBA and size before the zlib
/// payload when the file has markers, the size alone when not) and keeps decompressed grains in a cache charged to
/// the disk's budget, since a read of a few bytes needs the whole grain inflated.
/// </summary>
internal sealed class CompressedGrainReader : IDisposable
{
    private readonly IReadAt _file;
    private readonly long _fileLength;
    private readonly string _fileName;
    private readonly SparseExtentHeader _header;
    private readonly long _length;
    private readonly BoundedCache<long, byte[]> _grains;

    internal CompressedGrainReader(IReadAt file, string fileName, SparseExtentHeader header, CacheBudget cache)
    {
        _file = file;
        _fileLength = file.Length;
        _fileName = fileName;
        _header = header;
        _length = header.CapacityBytes;
        _grains = new(cache);
    }

    /// <summary>Grain <paramref name="grain"/> decompressed (a whole grain; read-only, shared through the cache).</summary>
    internal byte[] Grain(long grain, uint gte) =>
        _grains.GetOrAdd(grain, (this, grain, gte), static s =>
        {
            var data = s.Item1.Decode(s.grain, s.gte, out _);
            return (data, data.Length);
        });

    /// <summary>
    /// Decodes the compressed grain record at sector <paramref name="gte"/>, checking that it belongs to
    /// <paramref name="grain"/> and inflates to exactly one grain; <paramref name="recordSectors"/> is the sectors the
    /// record occupies (for `check`'s overlap test).
    /// </summary>
    internal byte[] Decode(long grain, uint gte, out long recordSectors)
    {
        long at = (long)gte * Sector.Size;
        string where = $"{_fileName}: compressed grain record of grain {grain}";
        Span<byte> head = stackalloc byte[StreamMarker.GrainRecordHeaderBytes];
        if (at > _fileLength - head.Length) throw new CorruptDataException(where, at, $"record starts past the end of the file ({_fileLength} bytes)");
        _file.ReadExactly(at, head, where);
        long payloadAt;
        uint size;
        if (_header.HasMarkers)
        {
            ulong lba = BinaryPrimitives.ReadUInt64LittleEndian(head);
            size = BinaryPrimitives.ReadUInt32LittleEndian(head[8..]);
            ulong expected = (ulong)grain * _header.GrainSectors;
            if (size != 0 && lba != expected)
                throw new CorruptDataException(where, at, $"record LBA {lba} differs from the grain's LBA {expected}");
            payloadAt = at + StreamMarker.GrainRecordHeaderBytes;
        }
        else
        {
            size = BinaryPrimitives.ReadUInt32LittleEndian(head);
            payloadAt = at + 4;
        }
        long grainBytes = _header.GrainBytes;
        if (size == 0) throw new CorruptDataException(where, at, "record size is 0 (a marker where a grain should be)");
        if (size > 2 * grainBytes) throw new CorruptDataException(where, at, $"record size {size} is larger than twice the grain size");
        if (size > _fileLength - payloadAt) throw new CorruptDataException(where, at, $"record ({size} bytes) runs past the end of the file ({_fileLength} bytes)");
        recordSectors = (payloadAt - at + size + Sector.Size - 1) / Sector.Size;
        var compressed = ArrayPool<byte>.Shared.Rent((int)size);
        try
        {
            _file.ReadExactly(payloadAt, compressed.AsSpan(0, (int)size), where);
            var output = new byte[grainBytes];
            int total = ZlibGrain.Inflate(compressed.AsSpan(0, (int)size), output, out bool overflow, where, at);
            long valid = Math.Min(grainBytes, _length - grain * grainBytes);
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

    public void Dispose() => _grains.Dispose();
}
