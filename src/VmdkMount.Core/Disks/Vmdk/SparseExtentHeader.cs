using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// The 512-byte header of a hosted sparse extent (magic KDMV); a streamOptimized footer has the same
/// layout. Parse validates everything the reader relies on (sizes, offsets, flags, overflow limits) so later code can trust the numbers.
/// </summary>
public sealed record SparseExtentHeader
{
    public const int Size = Sector.Size;
    public const uint Magic = 0x564D444B; // "KDMV"
    public const ulong GdAtEnd = 0xFFFFFFFFFFFFFFFF;

    private const int OffMagic = 0x00;
    private const int OffVersion = 0x04;
    private const int OffFlags = 0x08;
    private const int OffCapacity = 0x0C;
    private const int OffGrainSize = 0x14;
    private const int OffDescriptorOffset = 0x1C;
    private const int OffDescriptorSize = 0x24;
    private const int OffNumGtesPerGt = 0x2C;
    private const int OffRgdOffset = 0x30;
    private const int OffGdOffset = 0x38;
    private const int OffOverHead = 0x40;
    private const int OffUncleanShutdown = 0x48;
    private const int OffNewlineChars = 0x49;
    private const int OffCompressAlgorithm = 0x4D;

    public const uint FlagValidNewlineTest = 0x1;
    public const uint FlagRedundantGd = 0x2;
    public const uint FlagZeroedGrainGte = 0x4;
    public const uint FlagCompressed = 0x10000;
    public const uint FlagMarkers = 0x20000;
    private const uint IncompatibleMask = 0xFFFF0000;

    public const ushort CompressNone = 0;
    public const ushort CompressDeflate = 1;

    /// <summary>Largest embedded descriptor VirtualBox accepts, in sectors.</summary>
    public const ulong MaxDescriptorSectors = 20480;
    /// <summary>Largest grain directory accepted (qemu's "L1 size too big").</summary>
    public const ulong MaxGdEntries = 1 << 25;
    public const uint MaxGtesPerGt = 4096;
    /// <summary>Largest grain, in sectors (1 MiB).</summary>
    public const ulong MaxGrainSectors = 2048;

    public uint Version { get; init; }
    public uint Flags { get; init; }
    public ulong CapacitySectors { get; init; }
    public ulong GrainSectors { get; init; }
    public ulong DescriptorOffsetSectors { get; init; }
    public ulong DescriptorSizeSectors { get; init; }
    public uint GtesPerGt { get; init; }
    public ulong RgdOffsetSectors { get; init; }
    public ulong GdOffsetSectors { get; init; }
    public ulong OverHeadSectors { get; init; }
    public bool UncleanShutdown { get; init; }
    public ushort CompressAlgorithm { get; init; }

    public bool IsCompressed => (Flags & FlagCompressed) != 0;
    public bool HasMarkers => (Flags & FlagMarkers) != 0;
    public bool HasZeroedGrainGte => (Flags & FlagZeroedGrainGte) != 0;
    public bool HasRedundantGd => (Flags & FlagRedundantGd) != 0 && RgdOffsetSectors != 0;
    public bool GdIsAtEnd => GdOffsetSectors == GdAtEnd;
    public long GrainBytes => (long)GrainSectors * Sector.Size;
    public long GtCoverageBytes => GrainBytes * GtesPerGt;
    public long CapacityBytes => (long)CapacitySectors * Sector.Size;
    public long GdEntries => (CapacityBytes + GtCoverageBytes - 1) / GtCoverageBytes;

    public static bool HasMagic(ReadOnlySpan<byte> first4) =>
        first4.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(first4) == Magic;

    /// <summary>
    /// Parses and validates a header. <paramref name="where"/> names the file and structure ("x.vmdk: sparse header"),
    /// <paramref name="fileOffset"/> where it was read. A capacity of 0 is allowed only when <paramref name="allowZeroCapacity"/>.
    /// </summary>
    public static SparseExtentHeader Parse(ReadOnlySpan<byte> s, string where, long fileOffset, bool allowZeroCapacity)
    {
        if (s.Length < Size) throw new CorruptDataException(where, fileOffset, $"truncated: {s.Length} of {Size} header bytes");
        if (!HasMagic(s)) throw new CorruptDataException(where, fileOffset, "not a VMDK sparse extent (no KDMV magic)");
        var h = new SparseExtentHeader
        {
            Version = BinaryPrimitives.ReadUInt32LittleEndian(s[OffVersion..]),
            Flags = BinaryPrimitives.ReadUInt32LittleEndian(s[OffFlags..]),
            CapacitySectors = BinaryPrimitives.ReadUInt64LittleEndian(s[OffCapacity..]),
            GrainSectors = BinaryPrimitives.ReadUInt64LittleEndian(s[OffGrainSize..]),
            DescriptorOffsetSectors = BinaryPrimitives.ReadUInt64LittleEndian(s[OffDescriptorOffset..]),
            DescriptorSizeSectors = BinaryPrimitives.ReadUInt64LittleEndian(s[OffDescriptorSize..]),
            GtesPerGt = BinaryPrimitives.ReadUInt32LittleEndian(s[OffNumGtesPerGt..]),
            RgdOffsetSectors = BinaryPrimitives.ReadUInt64LittleEndian(s[OffRgdOffset..]),
            GdOffsetSectors = BinaryPrimitives.ReadUInt64LittleEndian(s[OffGdOffset..]),
            OverHeadSectors = BinaryPrimitives.ReadUInt64LittleEndian(s[OffOverHead..]),
            UncleanShutdown = s[OffUncleanShutdown] != 0,
            CompressAlgorithm = BinaryPrimitives.ReadUInt16LittleEndian(s[OffCompressAlgorithm..]),
        };
        if (h.Version is 0 or > 3)
            throw new UnsupportedFeatureException(where, $"sparse extent header version {h.Version} (at offset {fileOffset + OffVersion})");
        uint incompatible = h.Flags & IncompatibleMask & ~(FlagCompressed | FlagMarkers);
        if (incompatible != 0)
            throw new UnsupportedFeatureException(where, $"incompatible header flags 0x{incompatible:x8} (at offset {fileOffset + OffFlags})");
        if (h.HasMarkers && !h.IsCompressed)
            throw new UnsupportedFeatureException(where, $"header flags 0x{h.Flags:x8}: markers without compression (at offset {fileOffset + OffFlags})");
        if ((h.Flags & FlagValidNewlineTest) != 0
            && (s[OffNewlineChars] != 0x0A || s[OffNewlineChars + 1] != 0x20 || s[OffNewlineChars + 2] != 0x0D || s[OffNewlineChars + 3] != 0x0A))
            throw new CorruptDataException(where, fileOffset + OffNewlineChars, "newline test bytes are not 0A 20 0D 0A: the file went through a CR/LF-translating (ASCII-mode) transfer");
        if (h.CompressAlgorithm > CompressDeflate)
            throw new UnsupportedFeatureException(where, $"compression algorithm {h.CompressAlgorithm} (at offset {fileOffset + OffCompressAlgorithm})");
        if (h.IsCompressed && h.CompressAlgorithm == CompressNone)
            throw new CorruptDataException(where, fileOffset + OffCompressAlgorithm, "compressed flag set but compression algorithm is 0");
        if (h.GrainSectors == 0)
            throw new CorruptDataException(where, fileOffset + OffGrainSize, "grain size is 0");
        if (!ulong.IsPow2(h.GrainSectors) || h.GrainSectors < 8 || h.GrainSectors > MaxGrainSectors)
            throw new UnsupportedFeatureException(where, $"grain size of {h.GrainSectors} sectors (must be a power of 2 from 8 to {MaxGrainSectors}; at offset {fileOffset + OffGrainSize})");
        if (h.GtesPerGt == 0 || h.GtesPerGt > MaxGtesPerGt)
            throw new CorruptDataException(where, fileOffset + OffNumGtesPerGt, $"{h.GtesPerGt} entries per grain table (must be 1..{MaxGtesPerGt})");
        if (h.CapacitySectors == 0 && !allowZeroCapacity)
            throw new CorruptDataException(where, fileOffset + OffCapacity, "capacity is 0");
        if (h.CapacitySectors > long.MaxValue / Sector.Size / 2)
            throw new CorruptDataException(where, fileOffset + OffCapacity, $"capacity of {h.CapacitySectors} sectors is absurd (bytes overflow)");
        if (h.CapacitySectors != 0 && (ulong)h.GdEntries > MaxGdEntries)
            throw new UnsupportedFeatureException(where, $"grain directory of {h.GdEntries} entries (more than {MaxGdEntries}; capacity {h.CapacitySectors} sectors at offset {fileOffset + OffCapacity})");
        if (h.DescriptorSizeSectors > MaxDescriptorSectors)
            throw new CorruptDataException(where, fileOffset + OffDescriptorSize, $"embedded descriptor of {h.DescriptorSizeSectors} sectors (more than {MaxDescriptorSectors})");
        if (h.DescriptorOffsetSectors != 0 && h.DescriptorSizeSectors == 0)
            throw new CorruptDataException(where, fileOffset + OffDescriptorSize, "embedded descriptor offset set but its size is 0");
        if (h.DescriptorOffsetSectors > long.MaxValue / (2 * Sector.Size))
            throw new CorruptDataException(where, fileOffset + OffDescriptorOffset, $"embedded descriptor offset {h.DescriptorOffsetSectors} is absurd");
        if (h.OverHeadSectors > long.MaxValue / (2 * Sector.Size))
            throw new CorruptDataException(where, fileOffset + OffOverHead, $"overhead of {h.OverHeadSectors} sectors is absurd");
        if (!h.GdIsAtEnd && h.GdOffsetSectors > long.MaxValue / (2 * Sector.Size))
            throw new CorruptDataException(where, fileOffset + OffGdOffset, $"grain directory offset {h.GdOffsetSectors} is absurd");
        if (h.RgdOffsetSectors > long.MaxValue / (2 * Sector.Size) && h.RgdOffsetSectors != GdAtEnd)
            throw new CorruptDataException(where, fileOffset + OffRgdOffset, $"redundant grain directory offset {h.RgdOffsetSectors} is absurd");
        return h;
    }

    /// <summary>Byte offsets of fields, for messages.</summary>
    public static long GdOffsetField => OffGdOffset;
}
