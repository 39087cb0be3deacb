using System.Buffers.Binary;
using System.Text;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>The ext2/3/4 superblock (1024 bytes at volume offset 1024) and the feature flags a reader acts on.</summary>
internal sealed class ExtSuperblock
{
    public const long VolumeOffset = 1024;
    public const int Size = 1024;
    public const ushort Magic = 0xEF53;

    // field offsets (kernel Documentation/filesystems/ext4/super.rst)
    private const int InodesCountOffset = 0x00;
    private const int BlocksCountLoOffset = 0x04;
    private const int FirstDataBlockOffset = 0x14;
    private const int LogBlockSizeOffset = 0x18;
    private const int LogClusterSizeOffset = 0x1C;
    private const int BlocksPerGroupOffset = 0x20;
    private const int InodesPerGroupOffset = 0x28;
    private const int MagicOffset = 0x38;
    private const int StateOffset = 0x3A;
    private const int RevLevelOffset = 0x4C;
    private const int FirstInoOffset = 0x54;
    private const int InodeSizeOffset = 0x58;
    private const int FeatureCompatOffset = 0x5C;
    private const int FeatureIncompatOffset = 0x60;
    private const int FeatureRoCompatOffset = 0x64;
    private const int UuidOffset = 0x68;
    private const int VolumeNameOffset = 0x78;
    private const int DescSizeOffset = 0xFE;
    private const int FirstMetaBgOffset = 0x104;
    private const int ReservedGdtBlocksOffset = 0xCE;
    private const int BlocksCountHiOffset = 0x150;
    private const int ChecksumTypeOffset = 0x175;
    private const int BackupBgsOffset = 0x24C;
    private const int ChecksumSeedOffset = 0x270;
    private const int ChecksumOffset = 0x3FC;

    // feature bits
    public const uint CompatHasJournal = 0x4;
    public const uint CompatSparseSuper2 = 0x200;

    public const uint IncompatCompression = 0x1;
    public const uint IncompatFiletype = 0x2;
    public const uint IncompatRecover = 0x4;
    public const uint IncompatJournalDev = 0x8;
    public const uint IncompatMetaBg = 0x10;
    public const uint IncompatExtents = 0x40;
    public const uint Incompat64Bit = 0x80;
    public const uint IncompatMmp = 0x100;
    public const uint IncompatFlexBg = 0x200;
    public const uint IncompatEaInode = 0x400;
    public const uint IncompatDirData = 0x1000;
    public const uint IncompatCsumSeed = 0x2000;
    public const uint IncompatLargeDir = 0x4000;
    public const uint IncompatInlineData = 0x8000;
    public const uint IncompatEncrypt = 0x10000;
    public const uint IncompatCasefold = 0x20000;

    /// <summary>Every incompat bit this reader understands; anything else is refused by name.</summary>
    private const uint IncompatUnderstood = IncompatFiletype | IncompatRecover | IncompatMetaBg | IncompatExtents
        | Incompat64Bit | IncompatMmp | IncompatFlexBg | IncompatEaInode | IncompatCsumSeed | IncompatLargeDir
        | IncompatInlineData | IncompatEncrypt | IncompatCasefold;

    public const uint RoCompatSparseSuper = 0x1;
    public const uint RoCompatLargeFile = 0x2;
    public const uint RoCompatBtreeDir = 0x4;
    public const uint RoCompatHugeFile = 0x8;
    public const uint RoCompatGdtCsum = 0x10;
    public const uint RoCompatDirNlink = 0x20;
    public const uint RoCompatExtraIsize = 0x40;
    public const uint RoCompatBigalloc = 0x200;
    public const uint RoCompatMetadataCsum = 0x400;

    private const ushort StateCleanlyUnmounted = 0x1;
    private const ushort StateErrors = 0x2;

    public uint InodesCount { get; private init; }
    public ulong BlocksCount { get; private init; }
    public uint FirstDataBlock { get; private init; }
    public int BlockSize { get; private init; }
    public int LogBlockSize { get; private init; }
    public uint BlocksPerGroup { get; private init; }
    public uint InodesPerGroup { get; private init; }
    public ushort State { get; private init; }
    public uint RevLevel { get; private init; }
    public uint FirstInode { get; private init; }
    public int InodeSize { get; private init; }
    public uint Compat { get; private init; }
    public uint Incompat { get; private init; }
    public uint RoCompat { get; private init; }
    public byte[] Uuid { get; private init; } = [];
    public string? Label { get; private init; }
    public int DescriptorSize { get; private init; }
    public uint FirstMetaBg { get; private init; }
    /// <summary>s_reserved_gdt_blocks: descriptor blocks kept free for growth after each copy of the descriptors.</summary>
    public int ReservedGdtBlocks { get; private init; }
    public uint BackupGroup0 { get; private init; }
    public uint BackupGroup1 { get; private init; }
    public uint GroupCount { get; private init; }
    /// <summary>Seed of every metadata_csum checksum (crc32c of the UUID, or the stored seed with csum_seed).</summary>
    public uint ChecksumSeed { get; private init; }
    /// <summary>Null when the stored superblock checksum matches or metadata_csum is off; else a description.</summary>
    public string? ChecksumProblem { get; private init; }

    public bool Has(uint incompatBit) => (Incompat & incompatBit) != 0;
    public bool HasRo(uint roBit) => (RoCompat & roBit) != 0;
    public bool MetadataCsum => HasRo(RoCompatMetadataCsum);

    /// <summary>Parses and validates; refuses (by feature name) what cannot be read read-only.</summary>
    public static ExtSuperblock Parse(ReadOnlySpan<byte> b, string where)
    {
        long at = VolumeOffset;
        if (b.Length < Size) throw new CorruptDataException(where + " superblock", at, "volume too small for an ext superblock");
        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(b[MagicOffset..]);
        if (magic != Magic)
            throw new CorruptDataException(where + " superblock", at + MagicOffset, $"bad magic 0x{magic:X4} (expected 0x{Magic:X4}): not ext2/3/4");
        uint logBlock = BinaryPrimitives.ReadUInt32LittleEndian(b[LogBlockSizeOffset..]);
        if (logBlock > 6)
            throw new CorruptDataException(where + " superblock", at + LogBlockSizeOffset, $"block size 1024 << {logBlock} out of range (1 KiB .. 64 KiB)");
        int blockSize = 1024 << (int)logBlock;
        uint rev = BinaryPrimitives.ReadUInt32LittleEndian(b[RevLevelOffset..]);
        int inodeSize = rev == 0 ? 128 : BinaryPrimitives.ReadUInt16LittleEndian(b[InodeSizeOffset..]);
        uint firstIno = rev == 0 ? 11 : BinaryPrimitives.ReadUInt32LittleEndian(b[FirstInoOffset..]);
        if (inodeSize < 128 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) != 0)
            throw new CorruptDataException(where + " superblock", at + InodeSizeOffset, $"inode size {inodeSize} invalid (power of two, 128 .. block size)");
        uint compat = BinaryPrimitives.ReadUInt32LittleEndian(b[FeatureCompatOffset..]);
        uint incompat = BinaryPrimitives.ReadUInt32LittleEndian(b[FeatureIncompatOffset..]);
        uint ro = BinaryPrimitives.ReadUInt32LittleEndian(b[FeatureRoCompatOffset..]);
        if (rev == 0) { compat = 0; incompat = 0; ro = 0; }

        if ((incompat & IncompatCompression) != 0) throw new UnsupportedFeatureException(where, "ext feature 'compression' (never in mainline Linux)");
        if ((incompat & IncompatJournalDev) != 0) throw new UnsupportedFeatureException(where, "ext feature 'journal_dev': this is an external journal device and holds no files");
        if ((incompat & IncompatDirData) != 0) throw new UnsupportedFeatureException(where, "ext feature 'dirdata' (Lustre)");
        uint unknown = incompat & ~IncompatUnderstood;
        if (unknown != 0) throw new UnsupportedFeatureException(where, $"unknown ext incompat feature bits 0x{unknown:X}");

        bool is64 = (incompat & Incompat64Bit) != 0;
        ulong blocks = BinaryPrimitives.ReadUInt32LittleEndian(b[BlocksCountLoOffset..]);
        if (is64) blocks |= (ulong)BinaryPrimitives.ReadUInt32LittleEndian(b[BlocksCountHiOffset..]) << 32;
        uint firstData = BinaryPrimitives.ReadUInt32LittleEndian(b[FirstDataBlockOffset..]);
        uint bpg = BinaryPrimitives.ReadUInt32LittleEndian(b[BlocksPerGroupOffset..]);
        uint ipg = BinaryPrimitives.ReadUInt32LittleEndian(b[InodesPerGroupOffset..]);
        uint inodes = BinaryPrimitives.ReadUInt32LittleEndian(b[InodesCountOffset..]);
        if ((ro & RoCompatBigalloc) != 0)
        {
            // bigalloc: blocks_per_group counts clusters' blocks differently; group geometry is derived from clusters
            uint logCluster = BinaryPrimitives.ReadUInt32LittleEndian(b[LogClusterSizeOffset..]);
            if (logCluster < logBlock || logCluster - logBlock > 16)
                throw new CorruptDataException(where + " superblock", at + LogClusterSizeOffset, $"cluster size log {logCluster} invalid");
        }
        if (bpg == 0 || bpg > 1u << 30)
            throw new CorruptDataException(where + " superblock", at + BlocksPerGroupOffset, $"blocks per group {bpg} invalid");
        if (ipg == 0 || ipg > 8u * (uint)blockSize)
            throw new CorruptDataException(where + " superblock", at + InodesPerGroupOffset, $"inodes per group {ipg} invalid");
        if (blocks == 0 || blocks >= 1UL << 48 || blocks > (ulong)(long.MaxValue / blockSize) || firstData >= blocks || firstData > 1)
            throw new CorruptDataException(where + " superblock", at + BlocksCountLoOffset, $"block count {blocks} / first data block {firstData} invalid");
        ulong groups = (blocks - firstData + bpg - 1) / bpg;
        if (groups == 0 || groups > uint.MaxValue || (ulong)ipg * groups < inodes || inodes < 11 && rev != 0 && inodes < firstIno)
            throw new CorruptDataException(where + " superblock", at + InodesCountOffset, $"inode count {inodes} does not fit {groups} groups of {ipg} inodes");
        // A volume shorter than the filesystem is a truncated image; reads past its end fail per file, listing still works.

        int descSize = 32;
        if (is64)
        {
            int d = BinaryPrimitives.ReadUInt16LittleEndian(b[DescSizeOffset..]);
            if (d > 32)
            {
                if (d < 64 || d > 1024 || (d & (d - 1)) != 0)
                    throw new CorruptDataException(where + " superblock", at + DescSizeOffset, $"group descriptor size {d} invalid");
                descSize = d;
            }
        }

        byte[] uuid = b.Slice(UuidOffset, 16).ToArray();
        string? label = LabelOf(b);

        uint seed = 0;
        string? csumProblem = null;
        if ((ro & RoCompatMetadataCsum) != 0)
        {
            if (b[ChecksumTypeOffset] != 1)
                csumProblem = $"unknown checksum type {b[ChecksumTypeOffset]} (only crc32c = 1 is defined); checksums not verified";
            seed = (incompat & IncompatCsumSeed) != 0
                ? BinaryPrimitives.ReadUInt32LittleEndian(b[ChecksumSeedOffset..])
                : ExtCrc32c.Update(0xFFFFFFFF, uuid);
            uint stored = BinaryPrimitives.ReadUInt32LittleEndian(b[ChecksumOffset..]);
            uint computed = ExtCrc32c.Update(0xFFFFFFFF, b[..ChecksumOffset]);
            if (csumProblem is null && stored != computed)
                csumProblem = $"superblock checksum mismatch at offset {at + ChecksumOffset}: stored 0x{stored:X8}, computed 0x{computed:X8}";
        }

        return new ExtSuperblock
        {
            InodesCount = inodes, BlocksCount = blocks, FirstDataBlock = firstData, BlockSize = blockSize,
            LogBlockSize = (int)logBlock, BlocksPerGroup = bpg, InodesPerGroup = ipg,
            State = BinaryPrimitives.ReadUInt16LittleEndian(b[StateOffset..]), RevLevel = rev, FirstInode = firstIno,
            InodeSize = inodeSize, Compat = compat, Incompat = incompat, RoCompat = ro, Uuid = uuid, Label = label,
            DescriptorSize = descSize, FirstMetaBg = BinaryPrimitives.ReadUInt32LittleEndian(b[FirstMetaBgOffset..]),
            ReservedGdtBlocks = BinaryPrimitives.ReadUInt16LittleEndian(b[ReservedGdtBlocksOffset..]),
            BackupGroup0 = BinaryPrimitives.ReadUInt32LittleEndian(b[BackupBgsOffset..]),
            BackupGroup1 = BinaryPrimitives.ReadUInt32LittleEndian(b[(BackupBgsOffset + 4)..]),
            GroupCount = (uint)groups, ChecksumSeed = seed, ChecksumProblem = csumProblem,
        };
    }

    /// <summary>ext2, ext3 or ext4, the way blkid names them (<see cref="KindOf(uint, uint, uint)"/>).</summary>
    public string Kind => KindOf(Compat, Incompat, RoCompat);

    /// <summary>What ext3 knows; blkid's EXT3_FEATURE_*_SUPP.</summary>
    private const uint Ext3Incompat = IncompatFiletype | IncompatRecover | IncompatMetaBg;
    private const uint Ext3RoCompat = RoCompatSparseSuper | RoCompatLargeFile | RoCompatBtreeDir;

    /// <summary>The same rule as blkid: any feature beyond what ext3 knows makes it ext4; a journal alone makes it ext3.</summary>
    public static string KindOf(uint compat, uint incompat, uint roCompat) =>
        (incompat & ~Ext3Incompat) != 0 || (roCompat & ~Ext3RoCompat) != 0 ? "ext4"
        : (compat & CompatHasJournal) != 0 ? "ext3" : "ext2";

    /// <summary>
    /// The signature volume discovery recognises ext by: the magic, a block size this reader accepts, and some inodes.
    /// The rest is judged on open, so a damaged superblock is still reported as ext.
    /// </summary>
    public static bool HasSignature(ReadOnlySpan<byte> b) =>
        b.Length >= Size && BinaryPrimitives.ReadUInt16LittleEndian(b[MagicOffset..]) == Magic
        && BinaryPrimitives.ReadUInt32LittleEndian(b[LogBlockSizeOffset..]) <= 6
        && BinaryPrimitives.ReadUInt32LittleEndian(b[InodesCountOffset..]) != 0;

    /// <summary>The volume name field, up to its NUL, shown as ext names are (<see cref="ExtNames.Decode"/>); null when empty.</summary>
    public static string? LabelOf(ReadOnlySpan<byte> b)
    {
        var labelBytes = b.Slice(VolumeNameOffset, 16);
        int nul = labelBytes.IndexOf((byte)0);
        if (nul >= 0) labelBytes = labelBytes[..nul];
        return labelBytes.IsEmpty ? null : ExtNames.Decode(labelBytes);
    }

    /// <summary>The feature words as stored (revision 0 has none), for <see cref="KindOf(uint, uint, uint)"/> before a full parse.</summary>
    public static (uint Compat, uint Incompat, uint RoCompat) Features(ReadOnlySpan<byte> b) =>
        BinaryPrimitives.ReadUInt32LittleEndian(b[RevLevelOffset..]) == 0 ? (0, 0, 0)
        : (BinaryPrimitives.ReadUInt32LittleEndian(b[FeatureCompatOffset..]), BinaryPrimitives.ReadUInt32LittleEndian(b[FeatureIncompatOffset..]),
           BinaryPrimitives.ReadUInt32LittleEndian(b[FeatureRoCompatOffset..]));

    public IEnumerable<string> OpenWarnings(string where)
    {
        if (Has(IncompatRecover))
            yield return $"{where}: the journal needs recovery (needs_recovery set: not cleanly unmounted, e.g. a crash-consistent backup); it is not replayed, so the last changes may be missing";
        if ((State & StateCleanlyUnmounted) == 0 && !Has(IncompatRecover))
            yield return $"{where}: not cleanly unmounted (state 0x{State:X})";
        if ((State & StateErrors) != 0)
            yield return $"{where}: the filesystem recorded errors (state 0x{State:X}); run e2fsck on a copy for details";
        if (Has(IncompatEncrypt))
            yield return $"{where}: has fscrypt-encrypted directories; their names and file contents cannot be read without the key";
        if (ChecksumProblem is not null)
            yield return $"{where}: {ChecksumProblem}";
    }

    /// <summary>Whether group <paramref name="g"/> holds a superblock backup (sparse_super: 0, 1, powers of 3, 5, 7).</summary>
    public bool GroupHasSuperblock(uint g)
    {
        if (g == 0) return true;
        if ((Compat & CompatSparseSuper2) != 0) return g == BackupGroup0 || g == BackupGroup1;
        if (g == 1 || !HasRo(RoCompatSparseSuper)) return true;
        if ((g & 1) == 0) return false;
        return IsPower(g, 3) || IsPower(g, 5) || IsPower(g, 7);
    }

    private static bool IsPower(uint g, uint b)
    {
        ulong p = b;
        while (p < g) p *= b;
        return p == g;
    }

    public override string ToString() => new StringBuilder().Append(Kind).Append(" bs=").Append(BlockSize).ToString();
}
