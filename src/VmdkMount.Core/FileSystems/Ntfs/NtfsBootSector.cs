using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>The $Boot sector (volume offset 0): geometry and where the $MFT starts.</summary>
internal sealed record NtfsBootSector
{
    public const int Size = 512;
    private const int OemIdOffset = 3;
    private const int BytesPerSectorOffset = 0x0B;
    private const int SectorsPerClusterOffset = 0x0D;
    private const int TotalSectorsOffset = 0x28;
    private const int MftLcnOffset = 0x30;
    private const int MftMirrLcnOffset = 0x38;
    private const int ClustersPerMftRecordOffset = 0x40;
    private const int ClustersPerIndexRecordOffset = 0x44;
    private const int SerialOffset = 0x48;
    private const int SignatureOffset = 510;
    private static ReadOnlySpan<byte> OemId => "NTFS    "u8;

    public const int MaxClusterSize = 2 * 1024 * 1024;

    public required int BytesPerSector { get; init; }
    public required int ClusterSize { get; init; }
    public required long TotalSectors { get; init; }
    public required long MftLcn { get; init; }
    public required long MftMirrLcn { get; init; }
    public required int MftRecordSize { get; init; }
    public required int IndexRecordSize { get; init; }
    public required ulong SerialNumber { get; init; }

    public long VolumeSize => TotalSectors * BytesPerSector;
    public long ClusterCount => VolumeSize / ClusterSize;

    public static bool LooksLikeNtfs(ReadOnlySpan<byte> sector) =>
        sector.Length >= Size && sector.Slice(OemIdOffset, OemId.Length).SequenceEqual(OemId);

    /// <summary>
    /// The signature volume discovery recognises NTFS by: the OEM id, 55 AA, and a sector and cluster size this
    /// reader accepts (the same decoding as <see cref="Parse"/>). The rest of the boot sector is judged on open, so a
    /// damaged one is still reported as NTFS (and fails to open with a message naming the field).
    /// </summary>
    public static bool HasSignature(ReadOnlySpan<byte> sector)
    {
        if (!LooksLikeNtfs(sector) || sector[SignatureOffset] != 0x55 || sector[SignatureOffset + 1] != 0xAA) return false;
        int bps = BinaryPrimitives.ReadUInt16LittleEndian(sector[BytesPerSectorOffset..]);
        return ValidBytesPerSector(bps) && ClusterSizeOf(sector[SectorsPerClusterOffset], bps) > 0;
    }

    private static bool ValidBytesPerSector(int bps) => bps is >= 256 and <= 4096 && (bps & (bps - 1)) == 0;

    /// <summary>
    /// The cluster size in bytes, or 0 when the byte is not a valid encoding. Values above 0x80 encode a negative
    /// exponent (Windows 10 1903+ formats clusters up to 2 MiB that way).
    /// </summary>
    private static long ClusterSizeOf(byte spcRaw, int bps)
    {
        long spc = spcRaw <= 0x80 ? spcRaw : 1L << Math.Min(31, 256 - spcRaw);
        long cluster = spc * bps;
        return spc == 0 || (spc & (spc - 1)) != 0 || cluster > MaxClusterSize ? 0 : cluster;
    }

    public static NtfsBootSector Parse(ReadOnlySpan<byte> b, string volume)
    {
        string where = $"{volume}: NTFS boot sector";
        if (!LooksLikeNtfs(b)) throw new CorruptDataException(where, OemIdOffset, "OEM id is not 'NTFS    '");
        int bps = BinaryPrimitives.ReadUInt16LittleEndian(b[BytesPerSectorOffset..]);
        if (!ValidBytesPerSector(bps))
            throw new CorruptDataException(where, BytesPerSectorOffset, $"bytes per sector {bps} is not a power of two in 256..4096");
        byte spcRaw = b[SectorsPerClusterOffset];
        long cluster = ClusterSizeOf(spcRaw, bps);
        if (cluster == 0)
            throw new CorruptDataException(where, SectorsPerClusterOffset, $"sectors per cluster 0x{spcRaw:X2} gives an invalid cluster size");
        long total = BinaryPrimitives.ReadInt64LittleEndian(b[TotalSectorsOffset..]);
        if (total <= 0 || total > long.MaxValue / 4096)
            throw new CorruptDataException(where, TotalSectorsOffset, $"total sectors {total} is out of range");
        long mftLcn = BinaryPrimitives.ReadInt64LittleEndian(b[MftLcnOffset..]);
        long mirrLcn = BinaryPrimitives.ReadInt64LittleEndian(b[MftMirrLcnOffset..]);
        long clusters = total * bps / cluster;
        if (mftLcn <= 0 || mftLcn >= clusters)
            throw new CorruptDataException(where, MftLcnOffset, $"$MFT cluster {mftLcn} lies outside the volume ({clusters} clusters)");
        int recordSize = DecodeRecordSize((sbyte)b[ClustersPerMftRecordOffset], cluster);
        if (recordSize is < 512 or > 65536 || (recordSize & (recordSize - 1)) != 0)
            throw new CorruptDataException(where, ClustersPerMftRecordOffset, $"MFT record size {recordSize} is not a power of two in 512..65536");
        int indexSize = DecodeRecordSize((sbyte)b[ClustersPerIndexRecordOffset], cluster);
        if (indexSize is < 512 or > 65536 || (indexSize & (indexSize - 1)) != 0)
            indexSize = 4096; // only a default: every directory's $INDEX_ROOT carries the real value
        return new NtfsBootSector
        {
            BytesPerSector = bps,
            ClusterSize = (int)cluster,
            TotalSectors = total,
            MftLcn = mftLcn,
            MftMirrLcn = mirrLcn,
            MftRecordSize = recordSize,
            IndexRecordSize = indexSize,
            SerialNumber = BinaryPrimitives.ReadUInt64LittleEndian(b[SerialOffset..]),
        };
    }

    /// <summary>Positive: a count of clusters; negative: 2^-v bytes.</summary>
    private static int DecodeRecordSize(sbyte v, long cluster)
    {
        if (v > 0) return (int)Math.Min(int.MaxValue, v * cluster);
        if (v < 0 && v >= -31) return 1 << -v;
        return 0;
    }
}
