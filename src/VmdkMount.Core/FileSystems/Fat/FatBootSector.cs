using System.Buffers.Binary;
using System.Numerics;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>
/// The FAT boot sector and BPB (FAT12/16 and FAT32 variants) and the geometry derived from it.
/// The FAT type comes from the cluster count (Microsoft's rule), except that a BPB with a zero 16-bit FAT size
/// uses the FAT32 layout whatever its cluster count (as the Linux driver does: small FAT32 volumes exist).
/// </summary>
internal sealed class FatBootSector
{
    public const int Size = 512;

    private const int JumpOffset = 0;
    private const int BytesPerSectorOffset = 11;
    private const int SectorsPerClusterOffset = 13;
    private const int ReservedSectorsOffset = 14;
    private const int FatCountOffset = 16;
    private const int RootEntriesOffset = 17;
    private const int TotalSectors16Offset = 19;
    private const int MediaOffset = 21;
    private const int SectorsPerFat16Offset = 22;
    private const int TotalSectors32Offset = 32;
    private const int Fat16ExtSignatureOffset = 38;
    private const int Fat16LabelOffset = 43;
    private const int Fat32SectorsPerFatOffset = 36;
    private const int Fat32ExtFlagsOffset = 40;
    private const int Fat32VersionOffset = 42;
    private const int Fat32RootClusterOffset = 44;
    private const int Fat32ExtSignatureOffset = 66;
    private const int Fat32LabelOffset = 71;
    private const int SignatureOffset = 510;
    private const int LabelLength = 11;
    private const byte ExtendedBootSignature = 0x29;
    private const ushort BootSignature = 0xAA55;
    private const uint Fat12MaxClusters = 4084;
    private const uint Fat16MaxClusters = 65524;
    private const uint Fat32MaxClusters = 0x0FFFFFF5;
    private const int DirectoryEntrySize = 32;

    public required FatKind Kind { get; init; }
    public required int BytesPerSector { get; init; }
    public required long ClusterSize { get; init; }
    public required int FatCount { get; init; }
    /// <summary>Byte offset of the FAT in use (the active one when mirroring is off).</summary>
    public required long FatOffset { get; init; }
    /// <summary>Bytes of one FAT that describe clusters 0..ClusterCount+1.</summary>
    public required long FatBytesUsed { get; init; }
    /// <summary>FAT12/16: byte offset and length of the fixed root directory area.</summary>
    public required long RootDirOffset { get; init; }
    public required long RootDirLength { get; init; }
    /// <summary>FAT32: first cluster of the root directory.</summary>
    public required uint RootCluster { get; init; }
    public required long DataOffset { get; init; }
    public required uint ClusterCount { get; init; }
    public required long VolumeBytes { get; init; }
    public string? BpbLabel { get; init; }

    public string KindName => NameOf(Kind);

    private static string NameOf(FatKind kind) => kind switch { FatKind.Fat12 => "fat12", FatKind.Fat16 => "fat16", _ => "fat32" };

    public static FatBootSector Parse(ReadOnlySpan<byte> s, string volume, long volumeLength, List<string> warnings)
    {
        string where = volume + ": FAT boot sector";
        if (s.Length < Size) throw new CorruptDataException(where, 0, "shorter than 512 bytes");
        if (s[3..11].SequenceEqual("EXFAT   "u8))
            throw new CorruptDataException(where, 3, "this is an exFAT boot sector, not FAT");
        bool jumpOk = s[JumpOffset] == 0xE9 || (s[JumpOffset] == 0xEB && s[JumpOffset + 2] == 0x90);
        bool signatureOk = BinaryPrimitives.ReadUInt16LittleEndian(s[SignatureOffset..]) == BootSignature;
        if (!jumpOk && !signatureOk)
            throw new CorruptDataException(where, JumpOffset, "neither a jump instruction nor the 55 AA signature: not a FAT boot sector");

        int bps = BinaryPrimitives.ReadUInt16LittleEndian(s[BytesPerSectorOffset..]);
        if (bps is < 512 or > 4096 || !BitOperations.IsPow2(bps))
            throw new CorruptDataException(where, BytesPerSectorOffset, $"bytes per sector {bps} is not 512, 1024, 2048 or 4096");
        int spc = s[SectorsPerClusterOffset];
        if (spc == 0 || !BitOperations.IsPow2(spc))
            throw new CorruptDataException(where, SectorsPerClusterOffset, $"sectors per cluster {spc} is not a power of two");
        long clusterSize = (long)spc * bps;
        int reserved = BinaryPrimitives.ReadUInt16LittleEndian(s[ReservedSectorsOffset..]);
        if (reserved < 1) throw new CorruptDataException(where, ReservedSectorsOffset, "no reserved sectors (the boot sector itself is one)");
        int fats = s[FatCountOffset];
        if (fats is < 1 or > 4) throw new CorruptDataException(where, FatCountOffset, $"number of FATs {fats} is not 1..4");
        int rootEntries = BinaryPrimitives.ReadUInt16LittleEndian(s[RootEntriesOffset..]);
        long total = BinaryPrimitives.ReadUInt16LittleEndian(s[TotalSectors16Offset..]);
        if (total == 0) total = BinaryPrimitives.ReadUInt32LittleEndian(s[TotalSectors32Offset..]);
        if (total == 0) throw new CorruptDataException(where, TotalSectors32Offset, "total sector count is 0");

        long fatSectors = BinaryPrimitives.ReadUInt16LittleEndian(s[SectorsPerFat16Offset..]);
        bool fat32Layout = fatSectors == 0;
        if (fat32Layout)
        {
            fatSectors = BinaryPrimitives.ReadUInt32LittleEndian(s[Fat32SectorsPerFatOffset..]);
            if (fatSectors == 0) throw new CorruptDataException(where, Fat32SectorsPerFatOffset, "sectors per FAT is 0");
            if (rootEntries != 0) throw new CorruptDataException(where, RootEntriesOffset, $"FAT32 BPB with {rootEntries} fixed root entries");
            ushort version = BinaryPrimitives.ReadUInt16LittleEndian(s[Fat32VersionOffset..]);
            if (version != 0) throw new UnsupportedFeatureException(where, $"FAT32 version {version >> 8}.{version & 0xFF}");
        }
        else if (rootEntries == 0)
            throw new CorruptDataException(where, RootEntriesOffset, "FAT12/16 BPB with no root directory entries");

        long rootDirSectors = ((long)rootEntries * DirectoryEntrySize + bps - 1) / bps;
        long dataSector = reserved + fats * fatSectors + rootDirSectors;
        if (dataSector >= total)
            throw new CorruptDataException(where, TotalSectors16Offset, $"the data region (sector {dataSector}) starts past the end of the volume ({total} sectors)");
        long clusters = (total - dataSector) / spc;
        FatKind kind = LayoutKind(fat32Layout, clusters);
        if (kind == FatKind.Fat16 && clusters > Fat16MaxClusters)
            throw new CorruptDataException(where, SectorsPerFat16Offset, $"{clusters} clusters need FAT32 but the BPB has the FAT12/16 layout");
        if (clusters > Fat32MaxClusters)
            throw new CorruptDataException(where, TotalSectors32Offset, $"{clusters} clusters is more than FAT32 can address");
        if (clusters < 1) throw new CorruptDataException(where, TotalSectors16Offset, "no data clusters");

        long fatBytes = fatSectors * bps;
        long fitting = kind switch
        {
            FatKind.Fat12 => fatBytes * 2 / 3 - 2,
            FatKind.Fat16 => fatBytes / 2 - 2,
            _ => fatBytes / 4 - 2,
        };
        if (fitting < 1) throw new CorruptDataException(where, SectorsPerFat16Offset, $"a FAT of {fatSectors} sectors cannot describe any cluster");
        if (clusters > fitting)
        {
            warnings.Add($"{volume}: the FAT describes only {fitting} of {clusters} clusters; the rest is ignored");
            clusters = fitting;
        }

        int activeFat = 0;
        uint rootCluster = 0;
        string? label = null;
        if (kind == FatKind.Fat32)
        {
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(s[Fat32ExtFlagsOffset..]);
            if ((flags & 0x80) != 0)
            {
                activeFat = flags & 0xF;
                if (activeFat >= fats)
                    throw new CorruptDataException(where, Fat32ExtFlagsOffset, $"active FAT {activeFat} of only {fats}");
            }
            rootCluster = BinaryPrimitives.ReadUInt32LittleEndian(s[Fat32RootClusterOffset..]);
            if (rootCluster < 2 || rootCluster > clusters + 1)
                throw new CorruptDataException(where, Fat32RootClusterOffset, $"root directory cluster {rootCluster} is outside 2..{clusters + 1}");
            if (s[Fat32ExtSignatureOffset] == ExtendedBootSignature) label = Label(s.Slice(Fat32LabelOffset, LabelLength));
        }
        else if (s[Fat16ExtSignatureOffset] == ExtendedBootSignature)
            label = Label(s.Slice(Fat16LabelOffset, LabelLength));

        long volumeBytes = total * bps;
        if (volumeBytes > volumeLength)
            warnings.Add($"{volume}: the boot sector says {volumeBytes} bytes but the volume has {volumeLength}; reads past the end will fail");

        return new FatBootSector
        {
            Kind = kind,
            BytesPerSector = bps,
            ClusterSize = clusterSize,
            FatCount = fats,
            FatOffset = ((long)reserved + activeFat * fatSectors) * bps,
            FatBytesUsed = FatTable.RequiredBytes(kind, (uint)clusters),
            RootDirOffset = ((long)reserved + fats * fatSectors) * bps,
            RootDirLength = (long)rootEntries * DirectoryEntrySize,
            RootCluster = rootCluster,
            DataOffset = dataSector * bps,
            ClusterCount = (uint)clusters,
            VolumeBytes = volumeBytes,
            BpbLabel = label,
        };
    }

    /// <summary>
    /// A BPB with a zero 16-bit FAT size has the FAT32 layout whatever its cluster count (as Linux and blkid read it:
    /// mkfs.fat -F 32 makes small ones); otherwise the cluster count decides FAT12 vs FAT16.
    /// </summary>
    private static FatKind LayoutKind(bool fat32Layout, long clusters) =>
        fat32Layout ? FatKind.Fat32 : clusters <= Fat12MaxClusters ? FatKind.Fat12 : FatKind.Fat16;

    /// <summary>
    /// The signature volume discovery recognises FAT by, and its kind. FAT's is the weakest signature (a jump, a sane
    /// BPB, 55 AA), so it is probed last: an NTFS or BitLocker boot sector looks like one too. Looser than
    /// <see cref="Parse"/> on purpose: a damaged BPB is still reported as FAT and fails to open with a message.
    /// </summary>
    public static string? Recognize(ReadOnlySpan<byte> s)
    {
        if (s.Length < Size || BinaryPrimitives.ReadUInt16LittleEndian(s[SignatureOffset..]) != BootSignature) return null;
        bool jump = s[JumpOffset] == 0xEB && s[JumpOffset + 2] == 0x90 || s[JumpOffset] == 0xE9;
        if (!jump) return null;
        int bps = BinaryPrimitives.ReadUInt16LittleEndian(s[BytesPerSectorOffset..]);
        int spc = s[SectorsPerClusterOffset];
        int reserved = BinaryPrimitives.ReadUInt16LittleEndian(s[ReservedSectorsOffset..]);
        int fats = s[FatCountOffset];
        int rootEntries = BinaryPrimitives.ReadUInt16LittleEndian(s[RootEntriesOffset..]);
        byte media = s[MediaOffset];
        if (bps is < 512 or > 4096 || !BitOperations.IsPow2(bps) || spc > 128 || !BitOperations.IsPow2(spc) || reserved < 1
            || fats is < 1 or > 2 || (media != 0xF0 && media < 0xF8))
            return null;
        long total = BinaryPrimitives.ReadUInt16LittleEndian(s[TotalSectors16Offset..]);
        if (total == 0) total = BinaryPrimitives.ReadUInt32LittleEndian(s[TotalSectors32Offset..]);
        long fatSectors = BinaryPrimitives.ReadUInt16LittleEndian(s[SectorsPerFat16Offset..]);
        bool fat32Layout = fatSectors == 0;
        if (fat32Layout) fatSectors = BinaryPrimitives.ReadUInt32LittleEndian(s[Fat32SectorsPerFatOffset..]);
        if (total == 0 || fatSectors == 0) return null;
        long rootDirSectors = ((long)rootEntries * DirectoryEntrySize + bps - 1) / bps;
        long data = total - (reserved + fats * fatSectors + rootDirSectors);
        if (data <= 0) return null;
        return NameOf(LayoutKind(fat32Layout, data / spc));
    }

    /// <summary>A label as stored (space padded, OEM code page), or null when blank or "NO NAME".</summary>
    internal static string? Label(ReadOnlySpan<byte> raw)
    {
        string text = FatShortName.DecodeOem(raw).TrimEnd(' ', '\0');
        return text.Length == 0 || text == "NO NAME" ? null : text;
    }
}
