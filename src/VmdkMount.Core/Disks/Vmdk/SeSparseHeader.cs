using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>One region of an SEsparse file, in sectors as stored.</summary>
internal readonly record struct SeSparseRegion(string Name, long OffsetSector, long SizeSectors)
{
    public long ByteOffset => OffsetSector * Sector.Size;
    public long ByteLength => SizeSectors * Sector.Size;
    public long EndSector => OffsetSector + SizeSectors;
}

/// <summary>
/// The constant header (sector 0) of an ESXi SEsparse delta extent. VMware never
/// published the format, so every field is checked as strictly as qemu's reader does: anything unexpected is
/// refused rather than guessed at.
/// </summary>
internal sealed record SeSparseHeader(
    long CapacitySectors,
    SeSparseRegion VolatileHeader,
    SeSparseRegion JournalHeader,
    SeSparseRegion Journal,
    SeSparseRegion GrainDirectory,
    SeSparseRegion GrainTables,
    SeSparseRegion FreeBitmap,
    SeSparseRegion BackMap,
    SeSparseRegion Grains)
{
    public const int Size = Sector.Size;

    public const ulong Magic = 0x00000000CAFEBABEUL;
    public const ulong SupportedVersion = 0x0000000200000001UL;

    /// <summary>The only grain size known: 8 sectors (4 KiB).</summary>
    public const long GrainSectors = 8;
    public const long GrainBytes = GrainSectors * Sector.Size;

    /// <summary>The only grain-table size known: 64 sectors = 4096 entries of 8 bytes.</summary>
    public const long GtSectors = 64;
    public const int GtBytes = (int)(GtSectors * Sector.Size);
    public const int EntriesPerGt = GtBytes / sizeof(ulong);
    public const int GdeSize = sizeof(ulong);

    /// <summary>More grain-directory entries than this is refused (qemu's "L1 size too big"; 64 TB needs 4 Mi).</summary>
    public const long MaxGdEntries = 32L * 1024 * 1024;

    private const int MagicOffset = 0;
    private const int VersionOffset = 8;
    private const int CapacityOffset = 16;
    private const int GrainSizeOffset = 24;
    private const int GrainTableSizeOffset = 32;
    private const int FlagsOffset = 40;
    private const int Reserved1Offset = 48;
    private const int ReservedCount = 4;
    private const int VolatileHeaderOffset = 80;
    private const int JournalHeaderOffset = 96;
    private const int JournalOffset = 112;
    private const int GrainDirOffset = 128;
    private const int GrainTablesOffset = 144;
    private const int FreeBitmapOffset = 160;
    private const int BackMapOffset = 176;
    private const int GrainsOffset = 192;
    private const int PadOffset = 208;

    public long CapacityBytes => CapacitySectors * Sector.Size;
    public long GtCoverageBytes => EntriesPerGt * GrainBytes;
    public long TotalGrains => (CapacitySectors + GrainSectors - 1) / GrainSectors;
    public long NeededGdEntries => (TotalGrains + EntriesPerGt - 1) / EntriesPerGt;
    public long GdEntries => GrainDirectory.SizeSectors * (Sector.Size / GdeSize);

    /// <summary>Grain tables the grain-table region has room for.</summary>
    public long GtSlots => GrainTables.SizeSectors / GtSectors;

    /// <summary>Grains the grains region has room for.</summary>
    public long GrainSlots => Grains.SizeSectors / GrainSectors;

    public static SeSparseHeader Parse(ReadOnlySpan<byte> header, string fileName, long fileLength)
    {
        string where = $"{fileName}: SEsparse header";
        if (header.Length < Size)
            throw new CorruptDataException(where, 0, $"truncated: the header needs {Size} bytes, the file has {fileLength}");
        ulong magic = U64(header, MagicOffset);
        if (magic != Magic)
            throw new CorruptDataException(where, MagicOffset, $"not an SEsparse extent: bad magic 0x{magic:x16}");
        ulong version = U64(header, VersionOffset);
        if (version != SupportedVersion)
            throw new UnsupportedFeatureException(where, $"SEsparse version 0x{version:x16} at offset {VersionOffset} (only 0x{SupportedVersion:x16} is known)");
        ulong grainSize = U64(header, GrainSizeOffset);
        if (grainSize != GrainSectors)
            throw new UnsupportedFeatureException(where, $"grain size {grainSize} sectors at offset {GrainSizeOffset} (only {GrainSectors} is known)");
        ulong gtSize = U64(header, GrainTableSizeOffset);
        if (gtSize != GtSectors)
            throw new UnsupportedFeatureException(where, $"grain table size {gtSize} sectors at offset {GrainTableSizeOffset} (only {GtSectors} is known)");
        ulong flags = U64(header, FlagsOffset);
        if (flags != 0)
            throw new UnsupportedFeatureException(where, $"flags 0x{flags:x16} at offset {FlagsOffset} (only 0 is known)");
        for (int i = 0; i < ReservedCount; i++)
        {
            int at = Reserved1Offset + i * sizeof(ulong);
            ulong reserved = U64(header, at);
            if (reserved != 0)
                throw new UnsupportedFeatureException(where, $"reserved field {i + 1} is 0x{reserved:x16} at offset {at} (expected 0)");
        }
        int pad = header[PadOffset..Size].IndexOfAnyExcept((byte)0);
        if (pad >= 0)
            throw new UnsupportedFeatureException(where, $"non-zero header padding at offset {PadOffset + pad}");

        ulong capacity = U64(header, CapacityOffset);
        if (capacity == 0)
            throw new CorruptDataException(where, CapacityOffset, "capacity is 0");
        if (capacity > long.MaxValue / Sector.Size)
            throw new CorruptDataException(where, CapacityOffset, $"capacity {capacity} sectors does not fit in a 64-bit byte count");

        var h = new SeSparseHeader(
            (long)capacity,
            Region(header, where, "volatile header", VolatileHeaderOffset),
            Region(header, where, "journal header", JournalHeaderOffset),
            Region(header, where, "journal", JournalOffset),
            Region(header, where, "grain directory", GrainDirOffset),
            Region(header, where, "grain tables", GrainTablesOffset),
            Region(header, where, "free bitmap", FreeBitmapOffset),
            Region(header, where, "back map", BackMapOffset),
            Region(header, where, "grains", GrainsOffset));

        if (h.GdEntries > MaxGdEntries)
            throw new UnsupportedFeatureException(where,
                $"{h.GdEntries} grain-directory entries (size {h.GrainDirectory.SizeSectors} sectors at offset {GrainDirOffset + 8}; at most {MaxGdEntries})");
        if (h.GdEntries < h.NeededGdEntries)
            throw new CorruptDataException(where, GrainDirOffset + 8,
                $"grain directory too small: {h.GdEntries} entries, capacity {h.CapacitySectors} sectors needs {h.NeededGdEntries}");
        if (h.GrainDirectory.OffsetSector == 0)
            throw new CorruptDataException(where, GrainDirOffset, "grain directory at sector 0 overlaps the header");
        long gdEnd = h.GrainDirectory.ByteOffset + h.NeededGdEntries * GdeSize;
        if (gdEnd > fileLength)
            throw new CorruptDataException(where, GrainDirOffset,
                $"grain directory (sector {h.GrainDirectory.OffsetSector}, {h.NeededGdEntries * GdeSize} bytes used) runs past the end of the file ({fileLength} bytes)");
        if (h.VolatileHeader.OffsetSector == 0 || h.VolatileHeader.SizeSectors == 0)
            throw new CorruptDataException(where, VolatileHeaderOffset,
                $"volatile header at sector {h.VolatileHeader.OffsetSector}, {h.VolatileHeader.SizeSectors} sectors is not a valid place");
        return h;
    }

    /// <summary>Reads an (offset, size) pair of sector counts and proves both, and their end, fit in byte offsets.</summary>
    private static SeSparseRegion Region(ReadOnlySpan<byte> header, string where, string name, int fieldOffset)
    {
        ulong offset = U64(header, fieldOffset);
        ulong size = U64(header, fieldOffset + sizeof(ulong));
        const ulong maxSectors = long.MaxValue / Sector.Size;
        if (offset > maxSectors || size > maxSectors || offset + size > maxSectors)
            throw new CorruptDataException(where, fieldOffset,
                $"{name} region (sector {offset}, {size} sectors) does not fit in 64-bit byte offsets");
        return new SeSparseRegion(name, (long)offset, (long)size);
    }

    private static ulong U64(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(s[offset..]);
}
