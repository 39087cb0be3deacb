using System.Buffers.Binary;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// A streamOptimized metadata marker sector: `val` u64, `size` u32 = 0, `type` u32. A grain record
/// starts the same way with `size` &gt; 0, which is how the two are told apart.
/// </summary>
public readonly record struct StreamMarker(ulong Value, uint Size, uint Type)
{
    public const uint TypeEos = 0;
    public const uint TypeGrainTable = 1;
    public const uint TypeGrainDirectory = 2;
    public const uint TypeFooter = 3;
    public const uint TypeProgress = 4;

    private const int OffValue = 0;
    private const int OffSize = 8;
    private const int OffType = 12;

    /// <summary>Bytes before a grain record's compressed data: its LBA (u64) and compressed size (u32).</summary>
    public const int GrainRecordHeaderBytes = 12;

    public bool IsMarker => Size == 0;

    public static StreamMarker Read(ReadOnlySpan<byte> sector) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(sector[OffValue..]),
        BinaryPrimitives.ReadUInt32LittleEndian(sector[OffSize..]),
        BinaryPrimitives.ReadUInt32LittleEndian(sector[OffType..]));
}
