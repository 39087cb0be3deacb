using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// Just enough of $LogFile to tell whether the volume was shut down cleanly: the first restart page ("RSTR") and
/// its restart area. Not clean = clients in use and no "volume is clean" flag (the test Linux's ntfs driver uses).
/// A reset log (all 0xFF, as mkntfs and ntfs-3g leave it) counts as clean.
/// </summary>
internal static class NtfsLogFile
{
    private static ReadOnlySpan<byte> RestartMagic => "RSTR"u8;
    private static ReadOnlySpan<byte> CheckDiskMagic => "CHKD"u8;
    private const int SystemPageSizeOffset = 16;
    private const int RestartAreaOffsetOffset = 24;
    private const int ClientInUseListOffset = 12;
    private const int RestartAreaFlagsOffset = 14;
    private const ushort NoClient = 0xFFFF;
    private const ushort VolumeIsClean = 0x0002;

    /// <summary>True clean, false not clean, null when there is no restart page to judge by.</summary>
    public static bool? IsClean(NtfsDataStream log, string where)
    {
        var head = new byte[4096];
        int n = log.Read(0, head);
        if (n < 512) return null;
        if (head.AsSpan(0, 4).SequenceEqual(CheckDiskMagic)) return false;
        if (!head.AsSpan(0, 4).SequenceEqual(RestartMagic)) return null;
        int pageSize = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(SystemPageSizeOffset));
        if (pageSize is < 512 or > 65536 || (pageSize & (pageSize - 1)) != 0)
            throw new CorruptDataException(where, SystemPageSizeOffset, $"restart page size {pageSize} is invalid");
        var page = new byte[pageSize];
        if (log.Read(0, page) != pageSize) throw new CorruptDataException(where, 0, "restart page cut short");
        NtfsFixups.Apply(page, where, 0);
        int ra = BinaryPrimitives.ReadUInt16LittleEndian(page.AsSpan(RestartAreaOffsetOffset));
        if (ra + RestartAreaFlagsOffset + 2 > pageSize) throw new CorruptDataException(where, RestartAreaOffsetOffset, $"restart area offset {ra} is out of range");
        ushort inUse = BinaryPrimitives.ReadUInt16LittleEndian(page.AsSpan(ra + ClientInUseListOffset));
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(page.AsSpan(ra + RestartAreaFlagsOffset));
        return inUse == NoClient || (flags & VolumeIsClean) != 0;
    }
}
