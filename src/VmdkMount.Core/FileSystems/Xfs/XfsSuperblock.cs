using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>
/// The primary superblock (byte 0 of the volume, one sector), validated as the kernel does before a mount: geometry
/// consistent with itself (xfs.md §1.6), version 4 or 5, no feature a reader must understand and does not. Secondary
/// copies in the other AGs are stale by design and never read. Offsets follow xfs.md §1.2; all fields big-endian.
/// </summary>
internal sealed class XfsSuperblock
{
    public const uint Magic = 0x58465342; // "XFSB"
    /// <summary>What is read before the sector size is known: the largest sector size XFS uses.</summary>
    public const int MaxSectorSize = 4096;

    private const int BlockSizeOffset = 4;
    private const int DBlocksOffset = 8;
    private const int RBlocksOffset = 16;
    private const int UuidOffset = 32;
    private const int LogStartOffset = 48;
    private const int RootInoOffset = 56;
    private const int AgBlocksOffset = 84;
    private const int AgCountOffset = 88;
    private const int LogBlocksOffset = 96;
    private const int VersionOffset = 100;
    private const int SectSizeOffset = 102;
    private const int InodeSizeOffset = 104;
    private const int InoPBlockOffset = 106;
    private const int LabelOffset = 108;
    private const int LabelLength = 12;
    private const int BlockLogOffset = 120;
    private const int SectLogOffset = 121;
    private const int InodeLogOffset = 122;
    private const int InoPBlogOffset = 123;
    private const int AgBlkLogOffset = 124;
    private const int InProgressOffset = 126;
    private const int DirBlkLogOffset = 192;
    private const int Features2Offset = 200;
    private const int BadFeatures2Offset = 204;
    private const int RoCompatOffset = 212;
    private const int IncompatOffset = 216;
    private const int LogIncompatOffset = 220;
    public const int CrcOffset = 224;
    private const int MetaUuidOffset = 248;

    private const ushort VersionNumberMask = 0x000F;
    private const ushort VersionShared = 0x0200;
    private const ushort VersionDirV2 = 0x2000;
    private const ushort VersionBorg = 0x4000;
    private const ushort VersionMoreBits = 0x8000;
    /// <summary>Every versionnum bit Linux knows (xfs_sb_good_v4_features); SHARED is not among them.</summary>
    private const ushort VersionKnownBits = 0x000F | 0x0010 | 0x0020 | 0x0040 | 0x0080 | 0x0100 | 0x0400 | 0x0800 | 0x1000 | 0x2000 | 0x4000 | 0x8000;
    private const uint Features2Crc = 0x100;
    private const uint Features2Ftype = 0x200;
    private const uint Features2KnownV4 = 0x28A;

    public const uint IncompatFtype = 0x1, IncompatSpinodes = 0x2, IncompatMetaUuid = 0x4, IncompatBigtime = 0x8,
        IncompatNeedsRepair = 0x10, IncompatNrext64 = 0x20, IncompatExchange = 0x40, IncompatParent = 0x80, IncompatMetadir = 0x100;
    /// <summary>Incompat bits whose on-disk effect this reader handles (parent pointers live only in xattrs, which it does not show).</summary>
    private const uint IncompatSupported = IncompatFtype | IncompatSpinodes | IncompatMetaUuid | IncompatBigtime | IncompatNeedsRepair
        | IncompatNrext64 | IncompatExchange | IncompatParent | IncompatMetadir;

    public required string Name { get; init; }
    public required int BlockSize { get; init; }
    public required int BlockLog { get; init; }
    public required ulong DataBlocks { get; init; }
    public required ulong RealtimeBlocks { get; init; }
    public required ulong LogStart { get; init; }
    public required uint LogBlocks { get; init; }
    public required ulong RootInode { get; init; }
    public required uint AgBlocks { get; init; }
    public required uint AgCount { get; init; }
    public required int AgBlockLog { get; init; }
    public required int Version { get; init; }
    public required int SectorSize { get; init; }
    public required int InodeSize { get; init; }
    public required int InodesPerBlockLog { get; init; }
    public required int DirBlockLog { get; init; }
    public required uint Features2 { get; init; }
    public required uint RoCompat { get; init; }
    public required uint Incompat { get; init; }
    public required uint LogIncompat { get; init; }
    public required bool AsciiCaseInsensitive { get; init; }
    public required Guid MetadataUuid { get; init; }
    public required byte[] MetadataUuidBytes { get; init; }
    public required string? Label { get; init; }

    public bool HasCrc => Version == 5;
    public bool HasFtype => Version == 5 || (Features2 & Features2Ftype) != 0;
    public bool Has(uint incompat) => (Incompat & incompat) != 0;

    /// <summary>Bytes of one directory block (xfs.md §5.1 "D").</summary>
    public int DirBlockSize => BlockSize << DirBlockLog;

    /// <summary>Blocks in AG <paramref name="agno"/>: <see cref="AgBlocks"/>, except the last AG, which holds the rest.</summary>
    public uint AgLength(uint agno) => agno + 1 < AgCount ? AgBlocks : (uint)(DataBlocks - (ulong)(AgCount - 1) * AgBlocks);

    public static XfsSuperblock Parse(ReadOnlySpan<byte> raw, string name)
    {
        string where = $"{name} XFS superblock";
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(raw);
        if (magic != Magic) throw new CorruptDataException(where, 0, $"bad magic 0x{magic:X8} (expected 0x{Magic:X8} \"XFSB\")");
        ushort versionNum = BE16(raw, VersionOffset);
        int version = versionNum & VersionNumberMask;
        if (version is not (4 or 5))
            throw new UnsupportedFeatureException(where, $"superblock version {version} (only 4 and 5 exist on Linux)");
        int blockSize = (int)BE32(raw, BlockSizeOffset);
        int blockLog = raw[BlockLogOffset];
        int sectSize = BE16(raw, SectSizeOffset);
        int inodeSize = BE16(raw, InodeSizeOffset);
        int inoPBlock = BE16(raw, InoPBlockOffset);
        int inoPBlog = raw[InoPBlogOffset];
        int agBlkLog = raw[AgBlkLogOffset];
        uint agBlocks = BE32(raw, AgBlocksOffset);
        uint agCount = BE32(raw, AgCountOffset);
        ulong dblocks = BE64(raw, DBlocksOffset);
        int dirBlkLog = raw[DirBlkLogOffset];
        void Require(bool ok, int offset, string problem)
        {
            if (!ok) throw new CorruptDataException(where, offset, problem);
        }
        Require(blockLog is >= 9 and <= 16 && blockSize == 1 << blockLog, BlockSizeOffset, $"block size {blockSize} does not match blocklog {blockLog} (512 .. 65536)");
        Require(sectSize is 512 or 1024 or 2048 or 4096 && sectSize == 1 << raw[SectLogOffset] && sectSize <= blockSize, SectSizeOffset, $"sector size {sectSize} invalid");
        Require(inodeSize is >= 256 and <= 2048 && inodeSize == 1 << raw[InodeLogOffset] && inodeSize <= blockSize, InodeSizeOffset, $"inode size {inodeSize} invalid");
        Require(inoPBlock == blockSize / inodeSize && inoPBlock == 1 << inoPBlog, InoPBlockOffset, $"inodes per block {inoPBlock} / log {inoPBlog} inconsistent with block size {blockSize} and inode size {inodeSize}");
        Require(agBlocks >= 1 && agBlkLog is >= 1 and <= 31 && agBlocks <= 1u << agBlkLog && agBlocks > 1u << (agBlkLog - 1), AgBlkLogOffset, $"agblklog {agBlkLog} is not ceil(log2(agblocks {agBlocks}))");
        Require(agCount >= 1 && dblocks > (ulong)(agCount - 1) * agBlocks && dblocks <= (ulong)agCount * agBlocks, AgCountOffset, $"{agCount} AGs of {agBlocks} blocks do not hold dblocks {dblocks}");
        Require(blockLog + dirBlkLog <= 16, DirBlkLogOffset, $"directory block log {dirBlkLog} makes directory blocks larger than 64 KiB");
        Require(agBlkLog + inoPBlog <= 32 + 24, InoPBlogOffset, "inode numbers would exceed 56 bits");
        if (raw[InProgressOffset] != 0) throw new CorruptDataException(where, InProgressOffset, "mkfs did not finish (sb_inprogress set)");

        uint features2 = BE32(raw, Features2Offset) | BE32(raw, BadFeatures2Offset);
        uint roCompat = 0, incompat = 0, logIncompat = 0;
        if (version == 4)
        {
            if ((versionNum & VersionDirV2) == 0) throw new UnsupportedFeatureException(where, "version 1 directories (no DIRV2 bit)");
            if ((versionNum & VersionShared) != 0 || (versionNum & ~VersionKnownBits) != 0)
                throw new UnsupportedFeatureException(where, $"versionnum 0x{versionNum:X4} has bits Linux does not know");
            if ((versionNum & VersionMoreBits) != 0 && (features2 & ~Features2KnownV4) != 0)
                throw new UnsupportedFeatureException(where, $"features2 0x{features2:X} has bits a version 4 filesystem cannot have");
        }
        else
        {
            Require((features2 & Features2Crc) != 0, Features2Offset, "version 5 superblock without the CRC feature bit");
            Require(raw.Length >= sectSize, SectSizeOffset, $"volume of {raw.Length} bytes is shorter than one {sectSize}-byte sector");
            Require(XfsCrc.Matches(raw[..sectSize], CrcOffset), CrcOffset, $"CRC mismatch over the {sectSize}-byte superblock sector");
            roCompat = BE32(raw, RoCompatOffset);
            incompat = BE32(raw, IncompatOffset);
            logIncompat = BE32(raw, LogIncompatOffset);
            if ((incompat & ~IncompatSupported) != 0)
                throw new UnsupportedFeatureException(where, $"incompatible feature bits 0x{incompat & ~IncompatSupported:X} (realtime groups, zoned or newer)");
        }
        bool metaUuid = version == 5 && (incompat & IncompatMetaUuid) != 0;
        var uuid = raw.Slice(metaUuid ? MetaUuidOffset : UuidOffset, 16).ToArray();
        ulong rootIno = BE64(raw, RootInoOffset);
        var sb = new XfsSuperblock
        {
            Name = name, BlockSize = blockSize, BlockLog = blockLog, DataBlocks = dblocks, RealtimeBlocks = BE64(raw, RBlocksOffset),
            LogStart = BE64(raw, LogStartOffset), LogBlocks = BE32(raw, LogBlocksOffset), RootInode = rootIno,
            AgBlocks = agBlocks, AgCount = agCount, AgBlockLog = agBlkLog, Version = version, SectorSize = sectSize,
            InodeSize = inodeSize, InodesPerBlockLog = inoPBlog, DirBlockLog = dirBlkLog, Features2 = features2,
            RoCompat = roCompat, Incompat = incompat, LogIncompat = logIncompat,
            AsciiCaseInsensitive = (versionNum & VersionBorg) != 0,
            MetadataUuid = new Guid(uuid, bigEndian: true), MetadataUuidBytes = uuid,
            Label = LabelOf(raw),
        };
        return sb;
    }

    public static string? LabelOf(ReadOnlySpan<byte> raw)
    {
        var label = raw.Slice(LabelOffset, LabelLength);
        int nul = label.IndexOf((byte)0);
        if (nul >= 0) label = label[..nul];
        return label.IsEmpty ? null : Ext.ExtNames.Decode(label);
    }

    /// <summary>Things a person should know about the volume, found from the superblock alone.</summary>
    public IEnumerable<string> OpenWarnings()
    {
        if (Has(IncompatNeedsRepair))
            yield return $"{Name}: XFS needs repair (xfs_repair started and did not finish); metadata may be inconsistent";
        if (RealtimeBlocks != 0)
            yield return $"{Name}: XFS has a realtime section, which is not part of this disk; files stored there cannot be read";
    }

    private static ushort BE16(ReadOnlySpan<byte> raw, int offset) => BinaryPrimitives.ReadUInt16BigEndian(raw[offset..]);
    private static uint BE32(ReadOnlySpan<byte> raw, int offset) => BinaryPrimitives.ReadUInt32BigEndian(raw[offset..]);
    private static ulong BE64(ReadOnlySpan<byte> raw, int offset) => BinaryPrimitives.ReadUInt64BigEndian(raw[offset..]);

}
