using System.Buffers.Binary;
using System.Text;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Volumes;

/// <summary>A byte range inside a PV, as a pv_header lists data and metadata areas. Size 0 means "to the end".</summary>
internal readonly record struct Lvm2Area(long Offset, long Size);

/// <summary>
/// The LVM2 physical-volume label: "LABELONE" in one of the first four 512-byte sectors, followed by the pv_header
/// (PV UUID, size, data areas, metadata areas). LVM always counts these in 512-byte sectors, whatever the disk's.
/// </summary>
internal sealed record Lvm2Label(string PvUuid, long PvSize, IReadOnlyList<Lvm2Area> DataAreas, IReadOnlyList<Lvm2Area> MetadataAreas)
{
    private const int LabelSectorBytes = 512;
    private const int LabelScanSectors = 4;
    private const int SectorNumberField = 8;
    private const int CrcField = 16;
    private const int CrcCoveredFrom = 20;
    private const int PvHeaderOffsetField = 20;
    private const int TypeField = 24;
    private const int PvUuidBytes = 32;
    private const int PvSizeField = 32;
    private const int AreaListField = 40;
    private const int AreaDescriptorBytes = 16;

    /// <summary>More area descriptors than LVM ever writes (it writes 1 data area and up to 2 metadata areas).</summary>
    private const int MaxAreas = 8;

    /// <summary>Index (0..3) of the sector holding "LABELONE" / "LVM2 001" in the first 2 KiB, or -1.</summary>
    public static int FindLabelSector(ReadOnlySpan<byte> head)
    {
        for (int s = 0; s < LabelScanSectors; s++)
        {
            int at = s * LabelSectorBytes;
            if (head.Length < at + LabelSectorBytes) break;
            if (head.Slice(at, 8).SequenceEqual("LABELONE"u8) && head.Slice(at + TypeField, 8).SequenceEqual("LVM2 001"u8)) return s;
        }
        return -1;
    }

    /// <summary>Reads and checks the label of the PV whose bytes are <paramref name="pv"/>.</summary>
    public static Lvm2Label Read(IReadAt pv, string where)
    {
        var head = new byte[LabelScanSectors * LabelSectorBytes];
        int got = pv.ReadAt(0, head);
        int s = FindLabelSector(head.AsSpan(0, got));
        if (s < 0) throw new CorruptDataException(where, 0, "no LVM2 label (LABELONE) in the first four sectors");
        var sector = head.AsSpan(s * LabelSectorBytes, LabelSectorBytes);
        long labelAt = (long)s * LabelSectorBytes;
        ulong recorded = BinaryPrimitives.ReadUInt64LittleEndian(sector[SectorNumberField..]);
        if (recorded != (ulong)s)
            throw new CorruptDataException(where, labelAt, $"LVM2 label found in sector {s} claims to be in sector {recorded}");
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(sector[CrcField..]);
        uint actual = Crc32.Lvm(sector[CrcCoveredFrom..]);
        if (stored != actual)
            throw new CorruptDataException(where, labelAt, $"LVM2 label CRC mismatch (stored 0x{stored:x8}, computed 0x{actual:x8})");
        uint pvHeaderOffset = BinaryPrimitives.ReadUInt32LittleEndian(sector[PvHeaderOffsetField..]);
        if (pvHeaderOffset < 32 || pvHeaderOffset > LabelSectorBytes - AreaListField)
            throw new CorruptDataException(where, labelAt + PvHeaderOffsetField, $"pv_header offset {pvHeaderOffset} is outside the label sector");
        var ph = sector[(int)pvHeaderOffset..];
        string uuid = Encoding.ASCII.GetString(ph[..PvUuidBytes]);
        long size = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(ph[PvSizeField..]), long.MaxValue);
        int pos = AreaListField;
        var data = ReadAreaList(ph, ref pos, where, labelAt + pvHeaderOffset);
        var meta = ReadAreaList(ph, ref pos, where, labelAt + pvHeaderOffset);
        return new Lvm2Label(uuid, size, data, meta);
    }

    private static List<Lvm2Area> ReadAreaList(ReadOnlySpan<byte> ph, ref int pos, string where, long at)
    {
        var list = new List<Lvm2Area>();
        while (true)
        {
            if (pos + AreaDescriptorBytes > ph.Length || list.Count > MaxAreas)
                throw new CorruptDataException(where, at + pos, "pv_header area list is not terminated");
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(ph[pos..]);
            ulong size = BinaryPrimitives.ReadUInt64LittleEndian(ph[(pos + 8)..]);
            pos += AreaDescriptorBytes;
            if (offset == 0 && size == 0) return list;
            if (offset > long.MaxValue || size > long.MaxValue)
                throw new CorruptDataException(where, at + pos, "pv_header area descriptor out of range");
            list.Add(new Lvm2Area((long)offset, (long)size));
        }
    }
}
