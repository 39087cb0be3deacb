using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// Interix / Services for UNIX special files, which ntfs-3g creates for `ln -s` and `mknod` (no reparse point):
/// a SYSTEM-flagged regular file whose data starts with "IntxLNK\x01" + UTF-16 target, or "IntxCHR\0" /
/// "IntxBLK\0" + u64 major + u64 minor. Shown as symlinks and devices, as ntfs-3g shows them.
/// </summary>
internal static class NtfsInterix
{
    public enum Kind { None, Symlink, CharDevice, BlockDevice }

    public sealed record Info(Kind Kind, string? Target, ulong Device);

    private static ReadOnlySpan<byte> LinkMagic => "IntxLNK\u0001"u8;
    private static ReadOnlySpan<byte> CharMagic => "IntxCHR\0"u8;
    private static ReadOnlySpan<byte> BlockMagic => "IntxBLK\0"u8;
    private const int MagicSize = 8;
    private const int MaxSize = 8 + 2 * 4096;

    /// <summary>glibc's makedev encoding (what st_rdev holds on Linux).</summary>
    public static ulong MakeDev(ulong major, ulong minor) =>
        ((major & 0xFFFFF000) << 32) | ((major & 0xFFF) << 8) | ((minor & 0xFFFFFF00) << 12) | (minor & 0xFF);

    public static Info? Detect(NtfsFileSystem fs, NtfsFile f)
    {
        if ((f.FileAttributes & NtfsStandardInformation.System) == 0 || f.IsEncrypted) return null;
        var data = f.Pieces(NtfsAttributeType.Data, "").OrderBy(a => a.LowestVcn).FirstOrDefault();
        if (data is null || data.DataSize < MagicSize || data.DataSize > MaxSize || data.IsCompressed) return null;
        var b = fs.ReadSmallData(f, MaxSize);
        if (b.Length < MagicSize) return null;
        var magic = b.AsSpan(0, MagicSize);
        if (magic.SequenceEqual(LinkMagic))
        {
            if (((b.Length - MagicSize) & 1) != 0) return null;
            var target = new string(MemoryMarshal.Cast<byte, char>(b.AsSpan(MagicSize))).TrimEnd('\0');
            return target.Length == 0 ? null : new Info(Kind.Symlink, target, 0);
        }
        bool chr = magic.SequenceEqual(CharMagic);
        if ((chr || magic.SequenceEqual(BlockMagic)) && b.Length >= MagicSize + 16)
        {
            ulong major = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(MagicSize));
            ulong minor = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(MagicSize + 8));
            return new Info(chr ? Kind.CharDevice : Kind.BlockDevice, null, MakeDev(major, minor));
        }
        return null;
    }
}
