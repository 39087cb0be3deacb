using System.Buffers.Binary;
using VmdkMount.Core.Transports;

namespace VmdkMount.Fuzz.Harnesses;

/// <summary>
/// The input format of the harnesses that read a file or a volume: a length and a few chunks of sectors, every other
/// byte zero. A 300 MiB XFS volume whose metadata is 40 KiB becomes a 40 KiB input that AFL can mutate: chunk
/// headers move metadata around, their bytes change it. Layout (little-endian):
/// u32 length in 512-byte sectors (at most <see cref="MaxSectors"/>), then chunks of u32 first sector, u8 sectors - 1,
/// and the sectors' bytes (a chunk cut short by the end of the input is zero-filled). A later chunk overrides an earlier one.
/// </summary>
public sealed class SparseInput : IReadAt
{
    public const int SectorSize = 512;

    /// <summary>2 GiB: large enough for every test image's geometry, small enough that a walk's reads stay cheap.</summary>
    public const long MaxSectors = 1L << 22;

    private const int HeaderSize = 4, ChunkHeaderSize = 5, MaxChunkSectors = 256;

    private readonly byte[] _input;
    /// <summary>Sector number -> offset of its bytes in the input (may run past the end: the tail reads as zeros).</summary>
    private readonly Dictionary<long, int> _sectors = new();

    public SparseInput(byte[] input)
    {
        _input = input;
        long sectors = input.Length >= HeaderSize ? BinaryPrimitives.ReadUInt32LittleEndian(input) : 0;
        Length = Math.Clamp(sectors, 1, MaxSectors) * SectorSize;
        int at = HeaderSize;
        // each pass consumes at least the chunk header, so the loop is bounded by the input's length
        while (at + ChunkHeaderSize <= input.Length)
        {
            long first = BinaryPrimitives.ReadUInt32LittleEndian(input.AsSpan(at));
            int count = input[at + 4] + 1;
            at += ChunkHeaderSize;
            for (int i = 0; i < count && at < input.Length; i++, at += SectorSize)
                if (first + i < Length / SectorSize) _sectors[first + i] = at;
        }
    }

    public long Length { get; }

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset >= Length || destination.IsEmpty) return 0;
        int n = (int)Math.Min(destination.Length, Length - offset);
        var into = destination[..n];
        into.Clear();
        long firstSector = offset / SectorSize, lastSector = (offset + n - 1) / SectorSize;
        for (long s = firstSector; s <= lastSector; s++)
        {
            if (!_sectors.TryGetValue(s, out int at)) continue;
            long sectorStart = s * SectorSize;
            int from = (int)Math.Max(0, offset - sectorStart);                        // within the sector
            int to = (int)Math.Min(SectorSize, offset + n - sectorStart);
            // a sector cut short by the end of the input reads as zeros past it, so a read that starts there copies nothing
            int available = Math.Clamp(_input.Length - at - from, 0, to - from);
            if (available > 0) _input.AsSpan(at + from, available).CopyTo(into[(int)(sectorStart + from - offset)..]);
        }
        return n;
    }

    /// <summary>Writes the input that reads as <paramref name="source"/> in the given sectors (zero sectors left out).</summary>
    public static byte[] Encode(IReadAt source, IEnumerable<long> sectors)
    {
        var output = new MemoryStream();
        var header = new byte[ChunkHeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)Math.Min(MaxSectors, (source.Length + SectorSize - 1) / SectorSize));
        output.Write(header, 0, HeaderSize);
        var sector = new byte[SectorSize];
        var run = new List<byte[]>();
        long runStart = -1;
        void Flush()
        {
            if (run.Count == 0) return;
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)runStart);
            header[4] = (byte)(run.Count - 1);
            output.Write(header);
            foreach (var b in run) output.Write(b);
            run.Clear();
        }
        foreach (long s in sectors.Where(s => s < MaxSectors).Distinct().Order())
        {
            sector.AsSpan().Clear();
            source.ReadAt(s * SectorSize, sector);
            if (!sector.AsSpan().ContainsAnyExcept((byte)0)) continue;
            if (run.Count == MaxChunkSectors || (run.Count > 0 && s != runStart + run.Count)) Flush();
            if (run.Count == 0) runStart = s;
            run.Add((byte[])sector.Clone());
        }
        Flush();
        return output.ToArray();
    }
}
