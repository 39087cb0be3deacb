using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// One decoded inode (any s_inode_size: 128 bytes hold seconds-only times; larger inodes add the fields below
/// 128 + i_extra_isize: nanoseconds, birth time, checksum high half). Immutable once read, so it is cached and
/// shared between threads.
/// </summary>
internal sealed class ExtInode
{
    private const int ModeOffset = 0x00;
    private const int UidOffset = 0x02;
    private const int SizeLoOffset = 0x04;
    private const int AtimeOffset = 0x08;
    private const int CtimeOffset = 0x0C;
    private const int MtimeOffset = 0x10;
    private const int GidOffset = 0x18;
    private const int LinksOffset = 0x1A;
    private const int BlocksLoOffset = 0x1C;
    private const int FlagsOffset = 0x20;
    public const int BlockOffset = 0x28;
    public const int BlockLength = 60;
    private const int GenerationOffset = 0x64;
    private const int FileAclLoOffset = 0x68;
    private const int SizeHighOffset = 0x6C;
    private const int BlocksHiOffset = 0x74;
    private const int FileAclHiOffset = 0x76;
    private const int UidHighOffset = 0x78;
    private const int GidHighOffset = 0x7A;
    private const int ChecksumLoOffset = 0x7C;
    public const int ExtraIsizeOffset = 0x80;
    private const int ChecksumHiOffset = 0x82;
    private const int CtimeExtraOffset = 0x84;
    private const int MtimeExtraOffset = 0x88;
    private const int AtimeExtraOffset = 0x8C;
    private const int CrtimeOffset = 0x90;
    private const int CrtimeExtraOffset = 0x94;
    public const int GoodOldSize = 128;

    public const uint FlagEncrypt = 0x800;
    public const uint FlagIndex = 0x1000;
    public const uint FlagHugeFile = 0x40000;
    public const uint FlagExtents = 0x80000;
    public const uint FlagInlineData = 0x10000000;
    public const uint FlagCasefold = 0x40000000;

    public const ushort TypeMask = 0xF000;
    public const ushort TypeFifo = 0x1000;
    public const ushort TypeChar = 0x2000;
    public const ushort TypeDir = 0x4000;
    public const ushort TypeBlock = 0x6000;
    public const ushort TypeFile = 0x8000;
    public const ushort TypeSymlink = 0xA000;
    public const ushort TypeSocket = 0xC000;

    public required uint Number { get; init; }
    public required ushort Mode { get; init; }
    public required uint Uid { get; init; }
    public required uint Gid { get; init; }
    public required long Size { get; init; }
    public required ushort Links { get; init; }
    public required uint Flags { get; init; }
    public required uint Generation { get; init; }
    public required ulong FileAcl { get; init; }
    public required ulong AllocatedBytes { get; init; }
    public required FsTime Modified { get; init; }
    public required FsTime Changed { get; init; }
    public required FsTime Accessed { get; init; }
    public FsTime? Created { get; init; }
    /// <summary>The 60-byte i_block area: block map, extent root, inline data, fast symlink text or device number.</summary>
    public required byte[] Block { get; init; }
    /// <summary>In-inode extended attribute area (after 128 + i_extra_isize); empty when there is none.</summary>
    public required byte[] InlineXattrs { get; init; }
    /// <summary>Byte offset of the inode in the volume (for error messages).</summary>
    public required long Offset { get; init; }
    public string? ChecksumProblem { get; init; }

    public ushort Type => (ushort)(Mode & TypeMask);
    public bool IsDirectory => Type == TypeDir;
    public bool Has(uint flag) => (Flags & flag) != 0;

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

    public static ExtInode Parse(ExtSuperblock sb, uint number, ReadOnlySpan<byte> raw, long offset, string where)
    {
        string what = $"{where} inode {number}";
        ushort mode = BinaryPrimitives.ReadUInt16LittleEndian(raw[ModeOffset..]);
        ushort links = BinaryPrimitives.ReadUInt16LittleEndian(raw[LinksOffset..]);
        ushort type = (ushort)(mode & TypeMask);
        if (mode == 0 && links == 0)
            throw new CorruptDataException(what, offset, "inode is not in use (mode 0, no links) but is referenced");
        if (type is not (TypeFifo or TypeChar or TypeDir or TypeBlock or TypeFile or TypeSymlink or TypeSocket))
            throw new CorruptDataException(what, offset + ModeOffset, $"invalid file type in mode 0x{mode:X4}");
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(raw[FlagsOffset..]);

        int extra = 0;
        if (raw.Length > GoodOldSize)
        {
            extra = BinaryPrimitives.ReadUInt16LittleEndian(raw[ExtraIsizeOffset..]);
            if (extra > raw.Length - GoodOldSize || (extra & 3) != 0)
                throw new CorruptDataException(what, offset + ExtraIsizeOffset, $"i_extra_isize {extra} exceeds the inode size {raw.Length}");
        }
        bool HasExtra(int fieldOffset, int size) => fieldOffset + size <= GoodOldSize + extra;

        long sizeLo = BinaryPrimitives.ReadUInt32LittleEndian(raw[SizeLoOffset..]);
        long sizeHigh = BinaryPrimitives.ReadUInt32LittleEndian(raw[SizeHighOffset..]);
        // i_size_high is "i_dir_acl" on old ext2 directories; the kernel only trusts it for dirs with largedir
        bool useHigh = type == TypeFile || (type == TypeDir && sb.Has(ExtSuperblock.IncompatLargeDir)) || type == TypeSymlink;
        long size = useHigh ? sizeLo | (sizeHigh << 32) : sizeLo;
        if (size < 0) throw new CorruptDataException(what, offset + SizeHighOffset, $"file size {(ulong)size} out of range");

        ulong blocks = BinaryPrimitives.ReadUInt32LittleEndian(raw[BlocksLoOffset..]);
        if (sb.HasRo(ExtSuperblock.RoCompatHugeFile))
        {
            blocks |= (ulong)BinaryPrimitives.ReadUInt16LittleEndian(raw[BlocksHiOffset..]) << 32;
            if ((flags & FlagHugeFile) != 0) blocks *= (ulong)(sb.BlockSize / 512);
        }
        ulong acl = BinaryPrimitives.ReadUInt32LittleEndian(raw[FileAclLoOffset..])
            | (ulong)BinaryPrimitives.ReadUInt16LittleEndian(raw[FileAclHiOffset..]) << 32;

        uint uid = BinaryPrimitives.ReadUInt16LittleEndian(raw[UidOffset..]) | (uint)BinaryPrimitives.ReadUInt16LittleEndian(raw[UidHighOffset..]) << 16;
        uint gid = BinaryPrimitives.ReadUInt16LittleEndian(raw[GidOffset..]) | (uint)BinaryPrimitives.ReadUInt16LittleEndian(raw[GidHighOffset..]) << 16;
        uint generation = BinaryPrimitives.ReadUInt32LittleEndian(raw[GenerationOffset..]);

        string? csumProblem = null;
        if (sb.MetadataCsum)
        {
            uint crc = ExtCrc32c.UpdateUInt32(sb.ChecksumSeed, number);
            crc = ExtCrc32c.UpdateUInt32(crc, generation);
            bool hasHi = HasExtra(ChecksumHiOffset, 2);
            crc = ExtCrc32c.Update(crc, raw[..ChecksumLoOffset]);
            crc = ExtCrc32c.Update(crc, [0, 0]);
            if (hasHi)
            {
                crc = ExtCrc32c.Update(crc, raw[(ChecksumLoOffset + 2)..ChecksumHiOffset]);
                crc = ExtCrc32c.Update(crc, [0, 0]);
                crc = ExtCrc32c.Update(crc, raw[(ChecksumHiOffset + 2)..]);
            }
            else crc = ExtCrc32c.Update(crc, raw[(ChecksumLoOffset + 2)..]);
            uint stored = BinaryPrimitives.ReadUInt16LittleEndian(raw[ChecksumLoOffset..]);
            if (hasHi) stored |= (uint)BinaryPrimitives.ReadUInt16LittleEndian(raw[ChecksumHiOffset..]) << 16;
            else crc &= 0xFFFF;
            if (stored != crc)
                csumProblem = $"{what}: checksum mismatch at offset {offset + ChecksumLoOffset} (stored 0x{stored:X8}, computed 0x{crc:X8})";
        }

        int xattrStart = GoodOldSize + extra;
        return new ExtInode
        {
            Number = number, Mode = mode, Uid = uid, Gid = gid, Size = size, Links = links, Flags = flags,
            Generation = generation, FileAcl = acl, AllocatedBytes = blocks * 512,
            Modified = Time(raw, MtimeOffset, MtimeExtraOffset, extra), Changed = Time(raw, CtimeOffset, CtimeExtraOffset, extra),
            Accessed = Time(raw, AtimeOffset, AtimeExtraOffset, extra),
            Created = HasExtra(CrtimeExtraOffset, 4) ? Time(raw, CrtimeOffset, CrtimeExtraOffset, extra) : null,
            Block = raw.Slice(BlockOffset, BlockLength).ToArray(),
            InlineXattrs = raw.Length > xattrStart ? raw[xattrStart..].ToArray() : [],
            Offset = offset, ChecksumProblem = csumProblem,
        };
    }

    /// <summary>Signed 32-bit seconds; with the _extra field: 2 epoch bits extend the seconds, 30 bits of nanoseconds.</summary>
    private static FsTime Time(ReadOnlySpan<byte> raw, int baseOffset, int extraOffset, int extraIsize)
    {
        long seconds = BinaryPrimitives.ReadInt32LittleEndian(raw[baseOffset..]);
        int ns = 0;
        if (extraOffset + 4 <= GoodOldSize + extraIsize && raw.Length > GoodOldSize)
        {
            uint x = BinaryPrimitives.ReadUInt32LittleEndian(raw[extraOffset..]);
            seconds += (long)(x & 3) << 32;
            ns = (int)(x >> 2);
            if (ns > 999_999_999) ns = 0;
        }
        return new FsTime(seconds, ns);
    }

    /// <summary>Linux device number (glibc makedev encoding) from i_block: old 16-bit form in word 0, new form in word 1.</summary>
    public ulong DeviceNumber
    {
        get
        {
            uint b0 = BinaryPrimitives.ReadUInt32LittleEndian(Block);
            uint b1 = BinaryPrimitives.ReadUInt32LittleEndian(Block.AsSpan(4));
            ulong major, minor;
            if (b0 != 0) { major = (b0 >> 8) & 0xFF; minor = b0 & 0xFF; }
            else { major = (b1 & 0xFFF00) >> 8; minor = (b1 & 0xFF) | ((b1 >> 12) & 0xFFF00); }
            return ((major & 0xFFFFF000UL) << 32) | ((major & 0xFFFUL) << 8) | ((minor & 0xFFFFFF00UL) << 12) | (minor & 0xFFUL);
        }
    }
}
