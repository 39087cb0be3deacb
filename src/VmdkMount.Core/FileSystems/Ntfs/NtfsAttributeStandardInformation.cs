using System.Buffers.Binary;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>$STANDARD_INFORMATION: the authoritative times and Windows attribute flags (48 or 72 bytes).</summary>
internal sealed record NtfsStandardInformation(long Created, long Modified, long Changed, long Accessed, uint FileAttributes)
{
    private const int CreatedOffset = 0;
    private const int ModifiedOffset = 8;
    private const int ChangedOffset = 16;
    private const int AccessedOffset = 24;
    private const int FlagsOffset = 32;
    public const int MinimumSize = 36;

    public const uint ReadOnly = 0x0001;
    public const uint Hidden = 0x0002;
    public const uint System = 0x0004;
    public const uint Archive = 0x0020;
    public const uint Sparse = 0x0200;
    public const uint ReparsePoint = 0x0400;
    public const uint Compressed = 0x0800;
    public const uint Offline = 0x1000;
    public const uint Encrypted = 0x4000;
    public const uint RecallOnOpen = 0x40000;
    public const uint RecallOnDataAccess = 0x400000;

    public static NtfsStandardInformation? TryParse(ReadOnlySpan<byte> v)
    {
        if (v.Length < MinimumSize) return null;
        return new NtfsStandardInformation(
            BinaryPrimitives.ReadInt64LittleEndian(v[CreatedOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(v[ModifiedOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(v[ChangedOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(v[AccessedOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(v[FlagsOffset..]));
    }

    /// <summary>FILETIME (100 ns since 1601) to FsTime; null for 0 and values outside DateTime's range.</summary>
    public static FsTime? ToFsTime(long fileTime)
    {
        const long UnixEpochFileTime = 116444736000000000;
        const long MaxFileTime = 2650467743999999999; // 9999-12-31
        if (fileTime <= 0 || fileTime > MaxFileTime) return null;
        long t = fileTime - UnixEpochFileTime;
        long seconds = Math.DivRem(t, 10_000_000, out long rem);
        if (rem < 0) { seconds--; rem += 10_000_000; }
        return new FsTime(seconds, (int)rem * 100);
    }
}
