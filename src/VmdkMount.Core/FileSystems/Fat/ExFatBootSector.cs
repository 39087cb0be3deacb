using System.Buffers.Binary;
using System.Numerics;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>The exFAT main boot sector (sector 0 of the boot region) and the geometry derived from it.</summary>
internal sealed class ExFatBootSector
{
    public const int Size = 512;

    private const int OemNameOffset = 3;
    private const int MustBeZeroOffset = 11;
    private const int MustBeZeroLength = 53;
    private const int VolumeLengthOffset = 72;
    private const int FatOffsetOffset = 80;
    private const int FatLengthOffset = 84;
    private const int ClusterHeapOffsetOffset = 88;
    private const int ClusterCountOffset = 92;
    private const int RootClusterOffset = 96;
    private const int RevisionOffset = 104;
    public const int VolumeFlagsOffset = 106;
    private const int BytesPerSectorShiftOffset = 108;
    private const int SectorsPerClusterShiftOffset = 109;
    private const int FatCountOffset = 110;
    public const int PercentInUseOffset = 112;
    private const int SignatureOffset = 510;
    private const ushort BootSignature = 0xAA55;
    private const ushort VolumeFlagActiveFat = 0x1;
    private const ushort VolumeFlagDirty = 0x2;
    private const ushort VolumeFlagMediaFailure = 0x4;
    private const int MaxClusterShift = 25;
    private const uint MaxClusterCount = 0xFFFFFFF5;
    /// <summary>Main boot sector, 8 extended boot sectors, OEM parameters, reserved: what the checksum covers.</summary>
    public const int ChecksummedSectors = 11;

    public static ReadOnlySpan<byte> OemName => "EXFAT   "u8;

    public required int BytesPerSector { get; init; }
    public required long ClusterSize { get; init; }
    public required long FatOffset { get; init; }
    public required long FatLength { get; init; }
    public required long HeapOffset { get; init; }
    public required uint ClusterCount { get; init; }
    public required uint RootCluster { get; init; }
    public required long VolumeBytes { get; init; }

    /// <summary>"EXFAT   " at 3: what volume discovery recognises exFAT by (the rest is judged on open).</summary>
    public static bool HasName(ReadOnlySpan<byte> s) => s.Length >= OemNameOffset + 8 && s.Slice(OemNameOffset, 8).SequenceEqual(OemName);

    public static ExFatBootSector Parse(ReadOnlySpan<byte> s, string volume, long volumeLength, List<string> warnings)
    {
        string where = volume + ": exFAT boot sector";
        if (s.Length < Size) throw new CorruptDataException(where, 0, "shorter than 512 bytes");
        if (!HasName(s))
            throw new CorruptDataException(where, OemNameOffset, "file system name is not \"EXFAT   \"");
        if (s.Slice(MustBeZeroOffset, MustBeZeroLength).IndexOfAnyExcept((byte)0) >= 0)
            throw new CorruptDataException(where, MustBeZeroOffset, "the legacy BPB area is not zero");
        if (BinaryPrimitives.ReadUInt16LittleEndian(s[SignatureOffset..]) != BootSignature)
            throw new CorruptDataException(where, SignatureOffset, "boot signature 55 AA missing");
        byte major = s[RevisionOffset + 1];
        if (major != 1) throw new UnsupportedFeatureException(where, $"exFAT revision {major}.{s[RevisionOffset]}");

        int bpsShift = s[BytesPerSectorShiftOffset];
        if (bpsShift is < 9 or > 12)
            throw new CorruptDataException(where, BytesPerSectorShiftOffset, $"bytes-per-sector shift {bpsShift} is not 9..12");
        int spcShift = s[SectorsPerClusterShiftOffset];
        if (bpsShift + spcShift > MaxClusterShift)
            throw new CorruptDataException(where, SectorsPerClusterShiftOffset, $"cluster size 2^{bpsShift + spcShift} is above 32 MiB");
        int bps = 1 << bpsShift;
        long clusterSize = 1L << (bpsShift + spcShift);
        int fats = s[FatCountOffset];
        if (fats is < 1 or > 2) throw new CorruptDataException(where, FatCountOffset, $"number of FATs {fats} is not 1 or 2");

        ulong volumeSectors = BinaryPrimitives.ReadUInt64LittleEndian(s[VolumeLengthOffset..]);
        uint fatOffset = BinaryPrimitives.ReadUInt32LittleEndian(s[FatOffsetOffset..]);
        uint fatLength = BinaryPrimitives.ReadUInt32LittleEndian(s[FatLengthOffset..]);
        uint heapOffset = BinaryPrimitives.ReadUInt32LittleEndian(s[ClusterHeapOffsetOffset..]);
        uint clusterCount = BinaryPrimitives.ReadUInt32LittleEndian(s[ClusterCountOffset..]);
        uint rootCluster = BinaryPrimitives.ReadUInt32LittleEndian(s[RootClusterOffset..]);
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(s[VolumeFlagsOffset..]);

        if (volumeSectors == 0 || volumeSectors > (ulong)(long.MaxValue >> bpsShift))
            throw new CorruptDataException(where, VolumeLengthOffset, $"volume length of {volumeSectors} sectors");
        if (fatOffset < 24) throw new CorruptDataException(where, FatOffsetOffset, $"FAT at sector {fatOffset}, inside the boot regions");
        if (clusterCount == 0 || clusterCount > MaxClusterCount)
            throw new CorruptDataException(where, ClusterCountOffset, $"cluster count {clusterCount}");
        if ((ulong)fatLength * (ulong)bps < (clusterCount + 2UL) * 4)
            throw new CorruptDataException(where, FatLengthOffset, $"a FAT of {fatLength} sectors cannot describe {clusterCount} clusters");
        if ((ulong)heapOffset < (ulong)fatOffset + (ulong)fatLength * (ulong)fats)
            throw new CorruptDataException(where, ClusterHeapOffsetOffset, $"cluster heap at sector {heapOffset} overlaps the FAT");
        ulong heapEnd = ((ulong)heapOffset << bpsShift) + ((ulong)clusterCount << (bpsShift + spcShift));
        if (heapEnd > volumeSectors << bpsShift)
            throw new CorruptDataException(where, ClusterCountOffset, $"{clusterCount} clusters end past the volume length");
        if (rootCluster < 2 || rootCluster > clusterCount + 1UL)
            throw new CorruptDataException(where, RootClusterOffset, $"root directory cluster {rootCluster} is outside 2..{clusterCount + 1UL}");

        int activeFat = fats == 2 && (flags & VolumeFlagActiveFat) != 0 ? 1 : 0;
        if ((flags & VolumeFlagDirty) != 0)
            warnings.Add($"{volume}: the volume was not cleanly unmounted (exFAT VolumeDirty set); contents may be inconsistent");
        if ((flags & VolumeFlagMediaFailure) != 0)
            warnings.Add($"{volume}: the volume reports media failures (exFAT MediaFailure set)");
        long volumeBytes = (long)(volumeSectors << bpsShift);
        if (volumeBytes > volumeLength)
            warnings.Add($"{volume}: the boot sector says {volumeBytes} bytes but the volume has {volumeLength}; reads past the end will fail");

        return new ExFatBootSector
        {
            BytesPerSector = bps,
            ClusterSize = clusterSize,
            FatOffset = ((long)fatOffset + (long)activeFat * fatLength) << bpsShift,
            FatLength = FatTable.RequiredBytes(FatKind.ExFat, clusterCount),
            HeapOffset = (long)heapOffset << bpsShift,
            ClusterCount = clusterCount,
            RootCluster = rootCluster,
            VolumeBytes = volumeBytes,
        };
    }

    /// <summary>The boot-region checksum over sectors 0..10, skipping VolumeFlags and PercentInUse (they change in use).</summary>
    public static uint Checksum(ReadOnlySpan<byte> region, int bytesPerSector)
    {
        uint sum = 0;
        int length = ChecksummedSectors * bytesPerSector;
        for (int i = 0; i < length; i++)
        {
            if (i is VolumeFlagsOffset or VolumeFlagsOffset + 1 or PercentInUseOffset) continue;
            sum = BitOperations.RotateRight(sum, 1) + region[i];
        }
        return sum;
    }
}
