using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// The 2048-byte header of an ESX sparse ("COWD", vmfsSparse, VMDK3) delta extent.
/// Only the fields a reader needs are kept; the parent name in the header union is empty in modern deltas
/// (the descriptor names the parent).
/// </summary>
internal sealed record CowdHeader(
    uint Version,
    uint Flags,
    uint CapacitySectors,
    uint GrainSectors,
    uint GdSector,
    uint NumGdEntries,
    uint FreeSector,
    uint UncleanShutdown)
{
    public const int Size = 2048;
    public const int HeaderSectors = Size / Sector.Size;

    /// <summary>A COWD grain table always has 4096 u32 entries (16 KiB).</summary>
    public const int EntriesPerGt = 4096;
    public const int GtBytes = EntriesPerGt * sizeof(uint);
    public const int GtSectors = GtBytes / Sector.Size;

    /// <summary>Largest grain accepted: 1 MiB, as for hosted sparse extents.</summary>
    public const uint MaxGrainSectors = 2048;

    /// <summary>More grain-directory entries than this is refused (qemu's "L1 size too big").</summary>
    public const uint MaxGdEntries = 32 * 1024 * 1024;

    private static ReadOnlySpan<byte> Magic => "COWD"u8;

    private const int MagicOffset = 0;
    private const int VersionOffset = 4;
    private const int FlagsOffset = 8;
    private const int NumSectorsOffset = 12;
    private const int GrainSizeOffset = 16;
    private const int GdOffsetOffset = 20;
    private const int NumGdEntriesOffset = 24;
    private const int FreeSectorOffset = 28;
    private const int UncleanShutdownOffset = 1648;

    public const uint SupportedVersion = 1;

    public long CapacityBytes => (long)CapacitySectors * Sector.Size;
    public long GrainBytes => (long)GrainSectors * Sector.Size;

    /// <summary>Sectors of virtual disk one grain table covers.</summary>
    public long GtCoverageSectors => (long)EntriesPerGt * GrainSectors;

    /// <summary>Grain-directory entries the capacity needs.</summary>
    public long NeededGdEntries => (CapacitySectors + GtCoverageSectors - 1) / GtCoverageSectors;

    public long GdByteOffset => (long)GdSector * Sector.Size;
    public long GdBytes => (long)NumGdEntries * sizeof(uint);

    public static bool HasMagic(ReadOnlySpan<byte> firstBytes) =>
        firstBytes.Length >= Magic.Length && firstBytes[..Magic.Length].SequenceEqual(Magic);

    /// <summary>Decodes and validates the header (every field the reader later trusts); the file length bounds the tables.</summary>
    public static CowdHeader Parse(ReadOnlySpan<byte> header, string fileName, long fileLength)
    {
        string where = $"{fileName}: COWD header";
        if (header.Length < Size)
            throw new CorruptDataException(where, 0, $"truncated: the header needs {Size} bytes, the file has {fileLength}");
        if (!HasMagic(header[MagicOffset..]))
            throw new CorruptDataException(where, MagicOffset, "not a COWD (vmfsSparse) extent: bad magic");

        var h = new CowdHeader(
            Version: U32(header, VersionOffset),
            Flags: U32(header, FlagsOffset),
            CapacitySectors: U32(header, NumSectorsOffset),
            GrainSectors: U32(header, GrainSizeOffset),
            GdSector: U32(header, GdOffsetOffset),
            NumGdEntries: U32(header, NumGdEntriesOffset),
            FreeSector: U32(header, FreeSectorOffset),
            UncleanShutdown: U32(header, UncleanShutdownOffset));

        if (h.Version != SupportedVersion)
            throw new UnsupportedFeatureException(where, $"COWD version {h.Version} (only {SupportedVersion} is known) at offset {VersionOffset}");
        if (h.CapacitySectors == 0)
            throw new CorruptDataException(where, NumSectorsOffset, "capacity (numSectors) is 0");
        if (h.GrainSectors == 0)
            throw new CorruptDataException(where, GrainSizeOffset, "grain size is 0");
        if (h.GrainSectors > MaxGrainSectors || !uint.IsPow2(h.GrainSectors))
            throw new UnsupportedFeatureException(where,
                $"grain size {h.GrainSectors} sectors at offset {GrainSizeOffset} (a power of 2 up to {MaxGrainSectors} is supported)");
        if (h.NumGdEntries > MaxGdEntries)
            throw new UnsupportedFeatureException(where,
                $"{h.NumGdEntries} grain-directory entries at offset {NumGdEntriesOffset} (at most {MaxGdEntries})");
        if (h.NumGdEntries < h.NeededGdEntries)
            throw new CorruptDataException(where, NumGdEntriesOffset,
                $"numGDEntries {h.NumGdEntries} is too small: capacity {h.CapacitySectors} sectors with {h.GrainSectors}-sector grains needs {h.NeededGdEntries}");
        if (h.GdSector < HeaderSectors)
            throw new CorruptDataException(where, GdOffsetOffset, $"grain directory at sector {h.GdSector} overlaps the header");
        if (h.GdByteOffset + h.GdBytes > fileLength)
            throw new CorruptDataException(where, GdOffsetOffset,
                $"grain directory (sector {h.GdSector}, {h.GdBytes} bytes) runs past the end of the file ({fileLength} bytes)");
        return h;
    }

    private static uint U32(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(s[offset..]);
}
