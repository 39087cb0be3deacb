using System.Buffers.Binary;
using System.Text;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Volumes;

/// <summary>What a volume holds, decided from its bytes. <see cref="Detail"/> says more where it matters (e.g. hibernation).</summary>
public sealed record ProbeResult(string FileSystem, string? Version = null, string? Label = null, string? Detail = null)
{
    public static readonly ProbeResult Unknown = new(FileSystemKinds.Unknown);
}

/// <summary>The `filesystem` values of the CLI contract.</summary>
public static class FileSystemKinds
{
    public const string Ntfs = "ntfs", Fat12 = "fat12", Fat16 = "fat16", Fat32 = "fat32", ExFat = "exfat";
    public const string Ext2 = "ext2", Ext3 = "ext3", Ext4 = "ext4", Xfs = "xfs", Btrfs = "btrfs", Refs = "refs";
    public const string BitLocker = "bitlocker", Luks = "luks", Swap = "swap", LvmPv = "lvm2-pv", MdRaid = "md-raid";
    public const string Iso9660 = "iso9660", Unknown = "unknown";
}

/// <summary>
/// Identifies a volume by content signatures (partitions.md section 6), never by partition type. Probe order is
/// cheap and unambiguous first and FAT last, because an NTFS or BitLocker boot sector also looks like a FAT one.
/// Reads at most the first 65 KiB plus a few small reads (labels, md superblocks near the end).
/// </summary>
public static class FileSystemProbe
{
    private const int HeadBytes = 0x10400;

    private const int OemNameOffset = 3;
    private const int BytesPerSectorOffset = 11;
    private const int SectorsPerClusterOffset = 13;
    private const int ReservedSectorsOffset = 14;
    private const int FatCountOffset = 16;
    private const int RootEntriesOffset = 17;
    private const int TotalSectors16Offset = 19;
    private const int MediaOffset = 21;
    private const int FatSize16Offset = 22;
    private const int TotalSectors32Offset = 32;
    private const int Fat16ExtSignatureOffset = 38;
    private const int Fat16LabelOffset = 43;
    private const int FatSize32Offset = 36;
    private const int Fat32ExtSignatureOffset = 66;
    private const int Fat32LabelOffset = 71;
    private const int BootSignatureOffset = 510;

    private const int NtfsMftLcnOffset = 48;
    private const int NtfsClustersPerMftRecordOffset = 64;
    private const int NtfsVolumeMftRecord = 3;
    private const uint NtfsAttrVolumeName = 0x60;
    private const uint NtfsAttrEnd = 0xFFFFFFFF;
    private const int NtfsFixupStride = 512;
    private const int NtfsRecordUsaOffsetField = 4;
    private const int NtfsRecordUsaCountField = 6;
    private const int NtfsRecordFirstAttributeField = 20;
    private const int NtfsAttrLengthField = 4;
    private const int NtfsAttrNonResidentField = 8;
    private const int NtfsAttrValueLengthField = 16;
    private const int NtfsAttrValueOffsetField = 20;
    private const int NtfsResidentHeaderBytes = 24;
    private const int NtfsMaxAttributes = 64;

    private const int ExFatClusterHeapOffset = 88;
    private const int ExFatRootClusterOffset = 96;
    private const int ExFatBytesPerSectorShiftOffset = 108;
    private const int ExFatSectorsPerClusterShiftOffset = 109;
    private const byte ExFatLabelEntry = 0x83;
    private const int ExFatDirEntryBytes = 32;
    private const int ExFatLabelLengthField = 1;
    private const int ExFatLabelField = 2;
    private const int ExFatMaxLabelChars = 11;
    private const int ExFatLabelSearchBytes = 65536;

    private const int RefsSignature2Offset = 16;
    private const int RefsMajorOffset = 40;
    private const int RefsMinorOffset = 41;

    private const int BitLockerGuidOffset = 160;
    private const int BitLockerToGoGuidOffset = 424;
    private static readonly Guid BitLockerGuid = new("4967D63B-2E29-4AD8-8399-F6A339E3D001");

    private const int ExtSuperblock = 1024;
    private const int ExtMagicOffset = 56;
    private const int ExtLogBlockSizeOffset = 24;
    private const int ExtInodesCountOffset = 0;
    private const int ExtCompatOffset = 92;
    private const int ExtIncompatOffset = 96;
    private const int ExtRoCompatOffset = 100;
    private const int ExtLabelOffset = 120;
    private const ushort ExtMagic = 0xEF53;
    private const uint ExtCompatHasJournal = 0x4;
    private const uint ExtIncompatJournalDev = 0x8;
    private const uint Ext3IncompatSupported = 0x2 | 0x4 | 0x10; // filetype, recover, meta_bg
    private const uint Ext3RoCompatSupported = 0x1 | 0x2 | 0x4;  // sparse_super, large_file, btree_dir

    private const int XfsVersionOffset = 100;
    private const int XfsLabelOffset = 108;

    private const int BtrfsSuperblock = 0x10000;
    private const int BtrfsMagicOffset = 0x40;
    private const int BtrfsLabelOffset = 0x12B;

    private const int SwapVersionOffset = 1024;
    private const int SwapLabelOffset = 1052;

    private const string LuksMagic = "LUKS\xBA\xBE";
    private const int LuksVersionOffset = 6;
    private const int Luks2LabelOffset = 24;

    private const int IsoDescriptor = 0x8000;
    private const int IsoVolumeIdOffset = 40;

    private const uint MdMagic = 0xA92B4EFC;

    public static ProbeResult Probe(IReadAt volume)
    {
        var head = new byte[(int)Math.Min(HeadBytes, volume.Length)];
        int got = ReadFully(volume, 0, head);
        ReadOnlySpan<byte> h = head.AsSpan(0, got);

        if (ProbeMd(volume, h) is { } md) return md;
        if (At(h, 0, LuksMagic))
        {
            int version = h.Length >= 8 ? BinaryPrimitives.ReadUInt16BigEndian(h[LuksVersionOffset..]) : 0;
            string? label = version == 2 ? AsciiZ(h, Luks2LabelOffset, 48) : null;
            return new ProbeResult(FileSystemKinds.Luks, $"LUKS{version}", label);
        }
        if (Lvm2Label.FindLabelSector(h) >= 0) return new ProbeResult(FileSystemKinds.LvmPv);
        if (At(h, OemNameOffset, "-FVE-FS-")) return new ProbeResult(FileSystemKinds.BitLocker);
        if (At(h, OemNameOffset, "MSWIN4.1") && h.Length >= BitLockerToGoGuidOffset + 16
            && new Guid(h.Slice(BitLockerToGoGuidOffset, 16)) == BitLockerGuid)
            return new ProbeResult(FileSystemKinds.BitLocker, Detail: "BitLocker To Go");
        if (At(h, OemNameOffset, "NTFS    ") && IsNtfsBpb(h)) return new ProbeResult(FileSystemKinds.Ntfs, Label: NtfsLabel(volume, h));
        if (At(h, OemNameOffset, "EXFAT   ")) return new ProbeResult(FileSystemKinds.ExFat, Label: ExFatLabel(volume, h));
        if (At(h, OemNameOffset, "ReFS\0\0\0\0") && At(h, RefsSignature2Offset, "FSRS"))
            return new ProbeResult(FileSystemKinds.Refs, $"ReFS {h[RefsMajorOffset]}.{h[RefsMinorOffset]}");
        if (At(h, 0, "XFSB"))
        {
            int v = h.Length > XfsVersionOffset + 1 ? BinaryPrimitives.ReadUInt16BigEndian(h[XfsVersionOffset..]) & 0xF : 0;
            return new ProbeResult(FileSystemKinds.Xfs, $"XFS v{v}", AsciiZ(h, XfsLabelOffset, 12));
        }
        if (ProbeExt(h) is { } ext) return ext;
        if (At(h, BtrfsSuperblock + BtrfsMagicOffset, "_BHRfS_M"))
            return new ProbeResult(FileSystemKinds.Btrfs, Label: Utf8Z(h, BtrfsSuperblock + BtrfsLabelOffset, 256));
        if (ProbeSwap(h) is { } swap) return swap;
        if (h.Length > IsoDescriptor + 6 && h[IsoDescriptor] == 1 && At(h, IsoDescriptor + 1, "CD001"))
            return new ProbeResult(FileSystemKinds.Iso9660, Label: AsciiZ(h, IsoDescriptor + IsoVolumeIdOffset, 32));
        if (ProbeFat(h) is { } fat) return fat;
        if (h.IndexOfAnyExcept((byte)0) < 0) return new ProbeResult(FileSystemKinds.Unknown, Detail: "empty (all zero)");
        return ProbeResult.Unknown;
    }

    /// <summary>Whether the volume's boot sector is one the partition-table parser must not read as an MBR (superfloppy check).</summary>
    internal static bool IsVolumeBootRecord(ReadOnlySpan<byte> sector0) =>
        At(sector0, OemNameOffset, "NTFS    ") && IsNtfsBpb(sector0)
        || At(sector0, OemNameOffset, "EXFAT   ")
        || At(sector0, OemNameOffset, "-FVE-FS-")
        || At(sector0, OemNameOffset, "ReFS\0\0\0\0") && At(sector0, RefsSignature2Offset, "FSRS");

    internal static bool IsLuksOrXfsHeader(ReadOnlySpan<byte> head) => At(head, 0, LuksMagic) || At(head, 0, "XFSB");

    private static int ReadFully(IReadAt source, long offset, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = source.ReadAt(offset + total, buffer[total..]);
            if (n <= 0) break;
            total += n;
        }
        return total;
    }

    private static bool At(ReadOnlySpan<byte> h, int offset, string ascii)
    {
        if (offset < 0 || h.Length < offset + ascii.Length) return false;
        for (int i = 0; i < ascii.Length; i++)
            if (h[offset + i] != (byte)ascii[i]) return false;
        return true;
    }

    private static string? AsciiZ(ReadOnlySpan<byte> h, int offset, int length) => Utf8Z(h, offset, length);

    private static string? Utf8Z(ReadOnlySpan<byte> h, int offset, int length)
    {
        if (h.Length < offset + length) return null;
        var s = h.Slice(offset, length);
        int end = s.IndexOf((byte)0);
        if (end >= 0) s = s[..end];
        string text = Encoding.UTF8.GetString(s).Trim();
        return text.Length == 0 ? null : text;
    }

    private static bool IsPowerOfTwo(int v) => v > 0 && (v & (v - 1)) == 0;

    private static bool HasBootSignature(ReadOnlySpan<byte> h) =>
        h.Length >= 512 && h[BootSignatureOffset] == 0x55 && h[BootSignatureOffset + 1] == 0xAA;

    private static bool IsNtfsBpb(ReadOnlySpan<byte> h)
    {
        if (!HasBootSignature(h)) return false;
        int bps = BinaryPrimitives.ReadUInt16LittleEndian(h[BytesPerSectorOffset..]);
        byte spc = h[SectorsPerClusterOffset];
        return bps >= 256 && bps <= 4096 && IsPowerOfTwo(bps) && spc != 0 && (spc <= 0x80 ? IsPowerOfTwo(spc) : spc >= 0xF4);
    }

    /// <summary>The label is the $VOLUME_NAME attribute of MFT record 3; the first MFT records are always contiguous.</summary>
    private static string? NtfsLabel(IReadAt volume, ReadOnlySpan<byte> h)
    {
        int bps = BinaryPrimitives.ReadUInt16LittleEndian(h[BytesPerSectorOffset..]);
        byte spcRaw = h[SectorsPerClusterOffset];
        long clusterBytes = spcRaw <= 0x80 ? (long)spcRaw * bps : (long)bps << (256 - spcRaw);
        long mftLcn = BinaryPrimitives.ReadInt64LittleEndian(h[NtfsMftLcnOffset..]);
        sbyte perRecord = (sbyte)h[NtfsClustersPerMftRecordOffset];
        long recordBytes = perRecord > 0 ? perRecord * clusterBytes : perRecord < 0 && perRecord >= -16 ? 1L << -perRecord : 0;
        if (recordBytes < 512 || recordBytes > 65536 || mftLcn <= 0 || mftLcn > volume.Length / clusterBytes) return null;
        long at = mftLcn * clusterBytes + NtfsVolumeMftRecord * recordBytes;
        var rec = new byte[recordBytes];
        if (ReadFully(volume, at, rec) != rec.Length || !At(rec, 0, "FILE")) return null;
        // Update sequence: the last two bytes of every 512-byte stride were swapped out for a check value.
        int usaOffset = BinaryPrimitives.ReadUInt16LittleEndian(rec.AsSpan(NtfsRecordUsaOffsetField));
        int usaCount = BinaryPrimitives.ReadUInt16LittleEndian(rec.AsSpan(NtfsRecordUsaCountField));
        if (usaCount < 1 || usaOffset + usaCount * 2 > rec.Length || (usaCount - 1) * NtfsFixupStride > rec.Length) return null;
        for (int i = 1; i < usaCount; i++)
        {
            int end = i * NtfsFixupStride - 2;
            if (rec[end] != rec[usaOffset] || rec[end + 1] != rec[usaOffset + 1]) return null;
            rec[end] = rec[usaOffset + i * 2];
            rec[end + 1] = rec[usaOffset + i * 2 + 1];
        }
        int pos = BinaryPrimitives.ReadUInt16LittleEndian(rec.AsSpan(NtfsRecordFirstAttributeField));
        for (int guard = 0; guard < NtfsMaxAttributes && pos >= 0 && pos + NtfsResidentHeaderBytes <= rec.Length; guard++)
        {
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(rec.AsSpan(pos));
            if (type == NtfsAttrEnd) break;
            int length = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(rec.AsSpan(pos + NtfsAttrLengthField)), int.MaxValue);
            if (length < NtfsResidentHeaderBytes || pos + length > rec.Length) break;
            if (type == NtfsAttrVolumeName && rec[pos + NtfsAttrNonResidentField] == 0)
            {
                int valueLength = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(rec.AsSpan(pos + NtfsAttrValueLengthField)), int.MaxValue);
                int valueOffset = BinaryPrimitives.ReadUInt16LittleEndian(rec.AsSpan(pos + NtfsAttrValueOffsetField));
                if (valueOffset + valueLength > length || (valueLength & 1) != 0) return null;
                string label = Encoding.Unicode.GetString(rec, pos + valueOffset, valueLength);
                return label.Length == 0 ? null : label;
            }
            pos += length;
        }
        return null;
    }

    /// <summary>The exFAT label is a 0x83 entry in the root directory; only its first cluster (up to 64 KiB) is searched.</summary>
    private static string? ExFatLabel(IReadAt volume, ReadOnlySpan<byte> h)
    {
        if (h.Length < 512) return null;
        int sectorShift = h[ExFatBytesPerSectorShiftOffset];
        int clusterShift = h[ExFatSectorsPerClusterShiftOffset];
        if (sectorShift < 9 || sectorShift > 12 || clusterShift > 25 - sectorShift) return null;
        long heap = (long)BinaryPrimitives.ReadUInt32LittleEndian(h[ExFatClusterHeapOffset..]) << sectorShift;
        long root = BinaryPrimitives.ReadUInt32LittleEndian(h[ExFatRootClusterOffset..]);
        if (root < 2) return null;
        long clusterBytes = 1L << (sectorShift + clusterShift);
        long at = heap + (root - 2) * clusterBytes;
        var dir = new byte[Math.Min(clusterBytes, ExFatLabelSearchBytes)];
        int got = ReadFully(volume, at, dir);
        for (int i = 0; i + ExFatDirEntryBytes <= got; i += ExFatDirEntryBytes)
        {
            byte type = dir[i];
            if (type == 0) break;
            if (type != ExFatLabelEntry) continue;
            int chars = Math.Min((int)dir[i + ExFatLabelLengthField], ExFatMaxLabelChars);
            string label = Encoding.Unicode.GetString(dir, i + ExFatLabelField, chars * 2);
            return label.Length == 0 ? null : label;
        }
        return null;
    }

    private static ProbeResult? ProbeExt(ReadOnlySpan<byte> h)
    {
        if (h.Length < ExtSuperblock + 1024) return null;
        var sb = h.Slice(ExtSuperblock, 1024);
        if (BinaryPrimitives.ReadUInt16LittleEndian(sb[ExtMagicOffset..]) != ExtMagic) return null;
        if (BinaryPrimitives.ReadUInt32LittleEndian(sb[ExtLogBlockSizeOffset..]) > 6) return null;
        if (BinaryPrimitives.ReadUInt32LittleEndian(sb[ExtInodesCountOffset..]) == 0) return null;
        uint compat = BinaryPrimitives.ReadUInt32LittleEndian(sb[ExtCompatOffset..]);
        uint incompat = BinaryPrimitives.ReadUInt32LittleEndian(sb[ExtIncompatOffset..]);
        uint roCompat = BinaryPrimitives.ReadUInt32LittleEndian(sb[ExtRoCompatOffset..]);
        string? label = Utf8Z(sb, ExtLabelOffset, 16);
        if ((incompat & ExtIncompatJournalDev) != 0)
            return new ProbeResult(FileSystemKinds.Unknown, Label: label, Detail: "ext3/4 external journal device");
        // The same rule as blkid: anything beyond what ext3 knows makes it ext4; a journal alone makes it ext3.
        string kind = (incompat & ~Ext3IncompatSupported) != 0 || (roCompat & ~Ext3RoCompatSupported) != 0 ? FileSystemKinds.Ext4
            : (compat & ExtCompatHasJournal) != 0 ? FileSystemKinds.Ext3 : FileSystemKinds.Ext2;
        return new ProbeResult(kind, Label: label);
    }

    private static ProbeResult? ProbeSwap(ReadOnlySpan<byte> h)
    {
        foreach (int page in (ReadOnlySpan<int>)[4096, 8192, 16384, 65536])
        {
            int at = page - 10;
            if (At(h, at, "SWAPSPACE2") || At(h, at, "SWAP-SPACE"))
            {
                uint version = h.Length >= SwapVersionOffset + 4 ? BinaryPrimitives.ReadUInt32LittleEndian(h[SwapVersionOffset..]) : 0;
                return new ProbeResult(FileSystemKinds.Swap, version == 1 ? "swap v1" : null, Utf8Z(h, SwapLabelOffset, 16));
            }
            if (At(h, at, "S1SUSPEND") || At(h, at, "S2SUSPEND") || At(h, at, "ULSUSPEND") || At(h, at - 1, "LINHIB0001"))
                return new ProbeResult(FileSystemKinds.Swap, Detail: "holds a hibernation image");
        }
        return null;
    }

    /// <summary>
    /// md superblocks: v1.1 at the start, v1.2 at 4 KiB, v1.0 8-12 KiB before the end, v0.90 in the last 64 KiB-aligned
    /// 64 KiB. Checked before the filesystems (as blkid does): a RAID1 member with an end-of-device superblock also
    /// shows its filesystem at the start, and for RAID0/5 that filesystem is only the first chunk.
    /// </summary>
    private static ProbeResult? ProbeMd(IReadAt volume, ReadOnlySpan<byte> h)
    {
        const int v1LevelOffset = 72, v090LevelOffset = 28;
        if (MdAt(h, 0, v1LevelOffset) is { } l11) return Md("md 1.1", l11);
        if (MdAt(h, 4096, v1LevelOffset) is { } l12) return Md("md 1.2", l12);
        long sectors = volume.Length / 512;
        if (sectors < 256) return null;
        Span<byte> sb = stackalloc byte[v1LevelOffset + 4];
        long v10 = ((sectors - 16) & ~7L) * 512;
        if (ReadFully(volume, v10, sb) == sb.Length && MdAt(sb, 0, v1LevelOffset) is { } l10) return Md("md 1.0", l10);
        long v090 = ((sectors & ~127L) - 128) * 512;
        if (ReadFully(volume, v090, sb) == sb.Length && MdAt(sb, 0, v090LevelOffset) is { } l090) return Md("md 0.90", l090);
        return null;
    }

    private static int? MdAt(ReadOnlySpan<byte> h, int at, int levelOffset) =>
        h.Length >= at + levelOffset + 4 && BinaryPrimitives.ReadUInt32LittleEndian(h[at..]) == MdMagic
            ? BinaryPrimitives.ReadInt32LittleEndian(h[(at + levelOffset)..]) : null;

    private static ProbeResult Md(string version, int level) => new(FileSystemKinds.MdRaid, version,
        Detail: level switch { -1 => "linear", >= 0 and <= 10 => $"RAID{level}", _ => $"level {level}" });

    /// <summary>FAT is the weakest signature: a jump, a sane BPB, 55 AA. The FAT type comes from the cluster count.</summary>
    internal static ProbeResult? ProbeFat(ReadOnlySpan<byte> h)
    {
        if (!HasBootSignature(h)) return null;
        bool jump = h[0] == 0xEB && h[2] == 0x90 || h[0] == 0xE9;
        if (!jump) return null;
        int bps = BinaryPrimitives.ReadUInt16LittleEndian(h[BytesPerSectorOffset..]);
        int spc = h[SectorsPerClusterOffset];
        int reserved = BinaryPrimitives.ReadUInt16LittleEndian(h[ReservedSectorsOffset..]);
        int fats = h[FatCountOffset];
        int rootEntries = BinaryPrimitives.ReadUInt16LittleEndian(h[RootEntriesOffset..]);
        byte media = h[MediaOffset];
        if (bps < 512 || bps > 4096 || !IsPowerOfTwo(bps) || spc > 128 || !IsPowerOfTwo(spc) || reserved < 1
            || fats < 1 || fats > 2 || (media != 0xF0 && media < 0xF8))
            return null;
        long total = BinaryPrimitives.ReadUInt16LittleEndian(h[TotalSectors16Offset..]);
        if (total == 0) total = BinaryPrimitives.ReadUInt32LittleEndian(h[TotalSectors32Offset..]);
        long fatSize = BinaryPrimitives.ReadUInt16LittleEndian(h[FatSize16Offset..]);
        bool fat32Layout = fatSize == 0;
        if (fat32Layout) fatSize = BinaryPrimitives.ReadUInt32LittleEndian(h[FatSize32Offset..]);
        if (total == 0 || fatSize == 0) return null;
        long rootDirSectors = ((long)rootEntries * 32 + bps - 1) / bps;
        long data = total - (reserved + fats * fatSize + rootDirSectors);
        if (data <= 0) return null;
        long clusters = data / spc;
        // A FAT32-layout BPB (16-bit FAT size 0, root directory in clusters) is FAT32 whatever its cluster count, as
        // Linux and blkid read it (mkfs.fat -F 32 makes small ones); otherwise the count decides FAT12 vs FAT16.
        string kind = fat32Layout ? FileSystemKinds.Fat32 : clusters < 4085 ? FileSystemKinds.Fat12 : FileSystemKinds.Fat16;
        int sigAt = fat32Layout ? Fat32ExtSignatureOffset : Fat16ExtSignatureOffset;
        int labelAt = fat32Layout ? Fat32LabelOffset : Fat16LabelOffset;
        string? label = h[sigAt] == 0x29 ? AsciiZ(h, labelAt, 11) : null;
        if (label == "NO NAME") label = null;
        return new ProbeResult(kind, Label: label);
    }
}
