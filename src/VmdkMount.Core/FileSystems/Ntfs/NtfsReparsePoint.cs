using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

internal enum NtfsReparseKind
{
    Other,
    Symlink,
    Junction,
    LxSymlink,
    LxSocket,
    LxFifo,
    LxCharDevice,
    LxBlockDevice,
}

/// <summary>$REPARSE_POINT value: the tag, and for the link tags the target as stored.</summary>
internal sealed record NtfsReparsePoint(uint Tag, NtfsReparseKind Kind, string? Target, bool Relative)
{
    private const int TagOffset = 0;
    private const int DataLengthOffset = 4;
    private const int HeaderSize = 8;
    private const int GuidSize = 16;
    private const uint MicrosoftBit = 0x80000000;

    public const uint TagMountPoint = 0xA0000003;
    public const uint TagSymlink = 0xA000000C;
    public const uint TagLxSymlink = 0xA000001D;
    public const uint TagAfUnix = 0x80000023;
    public const uint TagLxFifo = 0x80000024;
    public const uint TagLxChr = 0x80000025;
    public const uint TagLxBlk = 0x80000026;
    public const uint TagDedup = 0x80000013;
    public const uint TagWof = 0x80000017;
    public const uint TagHsm = 0xC0000004;
    public const uint TagHsm2 = 0x80000006;
    public const uint TagSis = 0x80000007;
    public const uint TagFilePlaceholder = 0x80000015;
    public const uint TagAppExecLink = 0x8000001B;
    public const uint TagProjFs = 0x9000001C;
    public const uint TagStorageSync = 0x8000001E;
    public const uint TagDfs = 0x8000000A;
    public const uint TagDfsr = 0x80000012;

    private const uint SymlinkFlagRelative = 0x1;
    private const int LxSymlinkVersion = 2;

    public bool IsLink => Kind is NtfsReparseKind.Symlink or NtfsReparseKind.Junction or NtfsReparseKind.LxSymlink;

    /// <summary>Cloud Files placeholders use 0x9000?01A (one tag per provider slot) and 0xA000?01A.</summary>
    public static bool IsCloudTag(uint tag) => (tag & 0xFFFF0FFF) is 0x9000001A or 0xA000001A;

    /// <summary>A human name for a tag, for listings and error messages.</summary>
    public static string Describe(uint tag) => tag switch
    {
        TagMountPoint => "junction (mount point)",
        TagSymlink => "symbolic link",
        TagLxSymlink => "WSL symbolic link",
        TagAfUnix => "WSL socket",
        TagLxFifo => "WSL FIFO",
        TagLxChr => "WSL character device",
        TagLxBlk => "WSL block device",
        TagDedup => "deduplicated (Windows Data Deduplication; content is in the chunk store)",
        TagWof => "WOF-compressed (CompactOS; not supported)",
        TagHsm or TagHsm2 => "offline (HSM)",
        TagSis => "single-instance store link",
        TagFilePlaceholder => "OneDrive placeholder",
        TagAppExecLink => "app execution alias",
        TagProjFs => "ProjFS placeholder",
        TagStorageSync => "Azure File Sync tiered file",
        TagDfs or TagDfsr => "DFS",
        _ when IsCloudTag(tag) => "cloud placeholder (Cloud Files / OneDrive)",
        _ => "reparse point",
    } + $" [reparse tag 0x{tag:X8}]";

    /// <summary>Tags whose file data is somewhere else: reading the local $DATA would give wrong bytes.</summary>
    public static bool DataIsElsewhere(uint tag) =>
        tag is TagDedup or TagWof or TagHsm or TagHsm2 or TagSis or TagFilePlaceholder or TagProjFs or TagStorageSync;

    public static NtfsReparsePoint Parse(ReadOnlySpan<byte> v, string where, long offset)
    {
        if (v.Length < HeaderSize) throw new CorruptDataException(where, offset, "$REPARSE_POINT is shorter than its header");
        uint tag = BinaryPrimitives.ReadUInt32LittleEndian(v[TagOffset..]);
        int dataLen = BinaryPrimitives.ReadUInt16LittleEndian(v[DataLengthOffset..]);
        int dataStart = HeaderSize + ((tag & MicrosoftBit) == 0 ? GuidSize : 0);
        if (dataStart > v.Length) throw new CorruptDataException(where, offset, $"$REPARSE_POINT tag 0x{tag:X8} is cut short");
        var data = v.Slice(dataStart, Math.Min(dataLen, v.Length - dataStart));
        switch (tag)
        {
            case TagSymlink:
            {
                var (target, flags) = ParseNameBuffer(data, withFlags: true, where, offset + dataStart);
                return new NtfsReparsePoint(tag, NtfsReparseKind.Symlink, target, (flags & SymlinkFlagRelative) != 0);
            }
            case TagMountPoint:
            {
                var (target, _) = ParseNameBuffer(data, withFlags: false, where, offset + dataStart);
                return new NtfsReparsePoint(tag, NtfsReparseKind.Junction, target, false);
            }
            case TagLxSymlink:
            {
                if (data.Length < 4 || BinaryPrimitives.ReadInt32LittleEndian(data) != LxSymlinkVersion)
                    throw new CorruptDataException(where, offset + dataStart, "WSL symlink reparse data is not version 2");
                string target;
                try { target = new UTF8Encoding(false, true).GetString(data[4..]); }
                catch (DecoderFallbackException) { throw new CorruptDataException(where, offset + dataStart + 4, "WSL symlink target is not valid UTF-8"); }
                return new NtfsReparsePoint(tag, NtfsReparseKind.LxSymlink, target, !target.StartsWith('/'));
            }
            case TagAfUnix: return new NtfsReparsePoint(tag, NtfsReparseKind.LxSocket, null, false);
            case TagLxFifo: return new NtfsReparsePoint(tag, NtfsReparseKind.LxFifo, null, false);
            case TagLxChr: return new NtfsReparsePoint(tag, NtfsReparseKind.LxCharDevice, null, false);
            case TagLxBlk: return new NtfsReparsePoint(tag, NtfsReparseKind.LxBlockDevice, null, false);
            default: return new NtfsReparsePoint(tag, NtfsReparseKind.Other, null, false);
        }
    }

    /// <summary>Substitute name (print name when the substitute is empty) of a symlink/junction buffer.</summary>
    private static (string Target, uint Flags) ParseNameBuffer(ReadOnlySpan<byte> d, bool withFlags, string where, long offset)
    {
        int bufferStart = withFlags ? 12 : 8;
        if (d.Length < bufferStart) throw new CorruptDataException(where, offset, "link reparse data is cut short");
        int subOff = BinaryPrimitives.ReadUInt16LittleEndian(d);
        int subLen = BinaryPrimitives.ReadUInt16LittleEndian(d[2..]);
        int prnOff = BinaryPrimitives.ReadUInt16LittleEndian(d[4..]);
        int prnLen = BinaryPrimitives.ReadUInt16LittleEndian(d[6..]);
        uint flags = withFlags ? BinaryPrimitives.ReadUInt32LittleEndian(d[8..]) : 0;
        var buf = d[bufferStart..];
        string sub = Take(buf, subOff, subLen, where, offset);
        if (sub.Length == 0) sub = Take(buf, prnOff, prnLen, where, offset);
        if (sub.Length == 0) throw new CorruptDataException(where, offset, "link has an empty target");
        return (sub, flags);
    }

    private static string Take(ReadOnlySpan<byte> buf, int off, int len, string where, long offset)
    {
        if ((len & 1) != 0 || off + len > buf.Length) throw new CorruptDataException(where, offset, $"link name ({len} bytes at {off}) lies outside the reparse data");
        return new string(MemoryMarshal.Cast<byte, char>(buf.Slice(off, len))).TrimEnd('\0');
    }
}
