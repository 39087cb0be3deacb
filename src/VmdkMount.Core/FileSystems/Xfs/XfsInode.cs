using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>
/// One decoded inode (xfs.md §3): core fields, times (legacy or bigtime, per inode), and a copy of the data fork.
/// Version 1/2 cores are 100 bytes, version 3 (v5 filesystems) 176 with CRC, birth time and self-number. Every check
/// that needs only the inode is made here, so a cached inode is a valid one. Immutable and shared between threads.
/// </summary>
internal sealed class XfsInode
{
    public const ushort Magic = 0x494E; // "IN"
    private const int ModeOffset = 2;
    private const int VersionOffset = 4;
    private const int FormatOffset = 5;
    private const int OnlinkOffset = 6;
    private const int UidOffset = 8;
    private const int GidOffset = 12;
    private const int NlinkOffset = 16;
    private const int BigExtentsOffset = 24;
    private const int AtimeOffset = 32;
    private const int MtimeOffset = 40;
    private const int CtimeOffset = 48;
    private const int SizeOffset = 56;
    private const int NblocksOffset = 64;
    private const int NextentsOffset = 76;
    private const int AnextentsOffset = 80;
    private const int ForkoffOffset = 82;
    private const int AformatOffset = 83;
    private const int FlagsOffset = 90;
    public const int CrcOffset = 100;
    private const int Flags2Offset = 120;
    private const int CrtimeOffset = 144;
    private const int InoOffset = 152;
    private const int UuidOffset = 160;
    private const int CoreV2 = 100, CoreV3 = 176;

    public const byte FormatDev = 0, FormatLocal = 1, FormatExtents = 2, FormatBtree = 3;
    public const ushort FlagRealtime = 0x1;
    private const ulong Flags2Bigtime = 0x8, Flags2Nrext64 = 0x10;
    /// <summary>Bigtime counts nanoseconds from 1901-12-13T20:45:52Z, the legacy 32-bit minimum.</summary>
    private const long BigtimeEpochOffsetSeconds = 1L << 31;

    public const ushort TypeMask = 0xF000, TypeFifo = 0x1000, TypeChar = 0x2000, TypeDir = 0x4000, TypeBlock = 0x6000,
        TypeFile = 0x8000, TypeSymlink = 0xA000, TypeSocket = 0xC000;

    public required ulong Number { get; init; }
    public required ushort Mode { get; init; }
    public required byte Format { get; init; }
    public required uint Uid { get; init; }
    public required uint Gid { get; init; }
    public required uint Links { get; init; }
    public required long Size { get; init; }
    public required ulong Blocks { get; init; }
    public required ulong DataExtents { get; init; }
    public required ushort Flags { get; init; }
    public required FsTime Accessed { get; init; }
    public required FsTime Modified { get; init; }
    public required FsTime Changed { get; init; }
    public FsTime? Created { get; init; }
    /// <summary>The data fork's bytes (local data, extent records, BMBT root, or the device number).</summary>
    public required byte[] DataFork { get; init; }
    /// <summary>The attribute fork's bytes (empty when forkoff is 0), its format and extent count.</summary>
    public byte[] AttrFork { get; init; } = [];
    public byte AttrFormat { get; init; }
    public ulong AttrExtents { get; init; }
    public int AttrForkOffset { get; init; }
    /// <summary>Byte offset of the inode on the volume; <see cref="DataForkOffset"/> is where its data fork starts.</summary>
    public required long Offset { get; init; }
    public required int DataForkOffset { get; init; }

    public ushort Type => (ushort)(Mode & TypeMask);
    public bool IsDirectory => Type == TypeDir;
    public long DataForkByteOffset => Offset + DataForkOffset;

    public FsNodeType NodeType => Type switch
    {
        TypeFile => FsNodeType.File,
        TypeDir => FsNodeType.Directory,
        TypeSymlink => FsNodeType.Symlink,
        TypeChar or TypeBlock => FsNodeType.Device,
        TypeFifo => FsNodeType.Fifo,
        TypeSocket => FsNodeType.Socket,
        _ => FsNodeType.Other,
    };

    /// <summary>Linux device number (glibc makedev encoding) from the fork's 32-bit sysv form: 14-bit major, 18-bit minor.</summary>
    public ulong DeviceNumber
    {
        get
        {
            if (DataFork.Length < 4) return 0;
            uint dev = BinaryPrimitives.ReadUInt32BigEndian(DataFork);
            ulong major = dev >> 18, minor = dev & 0x3FFFF;
            return ((major & 0xFFFFF000UL) << 32) | ((major & 0xFFFUL) << 8) | ((minor & 0xFFFFFF00UL) << 12) | (minor & 0xFFUL);
        }
    }

    public static XfsInode Parse(XfsVolume vol, ulong ino, ReadOnlySpan<byte> raw, long offset)
    {
        string where = $"{vol.Name} inode {ino}";
        void Require(bool ok, int at, string problem)
        {
            if (!ok) throw new CorruptDataException(where, offset + at, problem);
        }
        ushort magic = BinaryPrimitives.ReadUInt16BigEndian(raw);
        Require(magic == Magic, 0, $"bad inode magic 0x{magic:X4} (expected 0x{Magic:X4} \"IN\")");
        int version = raw[VersionOffset];
        bool v5 = vol.Sb.HasCrc;
        Require(v5 ? version == 3 : version is 1 or 2, VersionOffset, $"inode version {version} on a version {vol.Sb.Version} filesystem");
        if (version == 3)
        {
            vol.CheckCrc(raw, CrcOffset, offset, $"inode {ino}");
            ulong self = BinaryPrimitives.ReadUInt64BigEndian(raw[InoOffset..]);
            Require(self == ino, InoOffset, $"inode says it is number {self}");
            Require(raw.Slice(UuidOffset, 16).SequenceEqual(vol.Sb.MetadataUuidBytes), UuidOffset, "inode belongs to another filesystem (UUID differs)");
        }
        ushort mode = BinaryPrimitives.ReadUInt16BigEndian(raw[ModeOffset..]);
        Require(mode != 0, ModeOffset, "free inode (mode 0) reached through a directory entry");
        byte format = raw[FormatOffset];
        ushort type = (ushort)(mode & TypeMask);
        bool formatOk = type switch
        {
            TypeFile => format is FormatExtents or FormatBtree,
            TypeDir => format is FormatLocal or FormatExtents or FormatBtree,
            TypeSymlink => format is FormatLocal or FormatExtents,
            TypeChar or TypeBlock or TypeFifo or TypeSocket => format == FormatDev,
            _ => false,
        };
        Require(formatOk, FormatOffset, $"data fork format {format} is not allowed for mode 0{Convert.ToString(mode, 8)}");

        int core = version == 3 ? CoreV3 : CoreV2;
        int literal = raw.Length - core;
        int forkoff = raw[ForkoffOffset] * 8;
        Require(forkoff < literal, ForkoffOffset, $"attribute fork offset {forkoff} is beyond the {literal}-byte literal area");
        int dataForkSize = forkoff != 0 ? forkoff : literal;

        long size = BinaryPrimitives.ReadInt64BigEndian(raw[SizeOffset..]);
        Require(size >= 0, SizeOffset, $"size {size} is negative");
        ulong flags2 = version == 3 ? BinaryPrimitives.ReadUInt64BigEndian(raw[Flags2Offset..]) : 0;
        ulong extents = (flags2 & Flags2Nrext64) != 0
            ? BinaryPrimitives.ReadUInt64BigEndian(raw[BigExtentsOffset..])
            : BinaryPrimitives.ReadUInt32BigEndian(raw[NextentsOffset..]);
        if (format == FormatExtents)
            Require(extents <= (ulong)(dataForkSize / XfsExtentList.RecordSize), NextentsOffset, $"{extents} extents do not fit the {dataForkSize}-byte data fork");
        if (format == FormatLocal)
            Require(size <= dataForkSize, SizeOffset, $"local data of {size} bytes does not fit the {dataForkSize}-byte data fork");

        bool bigtime = (flags2 & Flags2Bigtime) != 0;
        ulong attrExtents = (flags2 & Flags2Nrext64) != 0
            ? BinaryPrimitives.ReadUInt32BigEndian(raw[NextentsOffset..])
            : BinaryPrimitives.ReadUInt16BigEndian(raw[AnextentsOffset..]);
        uint links = version == 1 ? BinaryPrimitives.ReadUInt16BigEndian(raw[OnlinkOffset..]) : BinaryPrimitives.ReadUInt32BigEndian(raw[NlinkOffset..]);
        return new XfsInode
        {
            Number = ino, Mode = mode, Format = format,
            Uid = BinaryPrimitives.ReadUInt32BigEndian(raw[UidOffset..]), Gid = BinaryPrimitives.ReadUInt32BigEndian(raw[GidOffset..]),
            Links = links, Size = size, Blocks = BinaryPrimitives.ReadUInt64BigEndian(raw[NblocksOffset..]),
            DataExtents = extents, Flags = BinaryPrimitives.ReadUInt16BigEndian(raw[FlagsOffset..]),
            Accessed = Time(raw[AtimeOffset..], bigtime), Modified = Time(raw[MtimeOffset..], bigtime), Changed = Time(raw[CtimeOffset..], bigtime),
            Created = version == 3 ? Time(raw[CrtimeOffset..], bigtime) : null,
            DataFork = raw.Slice(core, dataForkSize).ToArray(), Offset = offset, DataForkOffset = core,
            AttrFork = forkoff != 0 ? raw[(core + forkoff)..].ToArray() : [], AttrFormat = raw[AformatOffset],
            AttrExtents = forkoff != 0 ? attrExtents : 0, AttrForkOffset = core + forkoff,
        };
    }

    private static FsTime Time(ReadOnlySpan<byte> t, bool bigtime)
    {
        if (bigtime)
        {
            ulong ns = BinaryPrimitives.ReadUInt64BigEndian(t);
            return new FsTime((long)(ns / 1_000_000_000) - BigtimeEpochOffsetSeconds, (int)(ns % 1_000_000_000));
        }
        int seconds = BinaryPrimitives.ReadInt32BigEndian(t);
        uint nsec = BinaryPrimitives.ReadUInt32BigEndian(t[4..]);
        return new FsTime(seconds, nsec < 1_000_000_000 ? (int)nsec : 0);
    }
}
