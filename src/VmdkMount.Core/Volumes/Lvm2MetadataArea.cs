using System.Buffers.Binary;
using System.Text;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Volumes;

/// <summary>
/// An LVM2 metadata area: a 512-byte mda_header (magic, CRC, raw_locn slots) followed by a circular buffer holding
/// the current metadata text. Returns the text of the first non-ignored raw_locn after checking its CRC.
/// </summary>
internal static class Lvm2MetadataArea
{
    private const int HeaderBytes = 512;
    private const int CrcField = 0;
    private const int MagicField = 4;
    private const int VersionField = 20;
    private const int StartField = 24;
    private const int SizeField = 32;
    private const int RawLocnField = 40;
    private const int RawLocnBytes = 24;
    private const uint RawLocnIgnored = 1;

    private static ReadOnlySpan<byte> Magic => " LVM2 x[5A%r0N*>"u8;

    /// <summary>Metadata text larger than this is damage, not a reason to allocate (real VGs: a few KiB to ~1 MiB).</summary>
    public const int MaxTextBytes = 16 * 1024 * 1024;

    public static string ReadText(IReadAt pv, Lvm2Area area, string where)
    {
        var header = new byte[HeaderBytes];
        if (area.Offset < 0 || pv.ReadAt(area.Offset, header) != HeaderBytes)
            throw new CorruptDataException(where, area.Offset, "LVM2 metadata area header lies outside the PV");
        if (!header.AsSpan(MagicField, 16).SequenceEqual(Magic))
            throw new CorruptDataException(where, area.Offset, "LVM2 metadata area header has no magic");
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(CrcField));
        uint actual = Crc32.Lvm(header.AsSpan(MagicField));
        if (stored != actual)
            throw new CorruptDataException(where, area.Offset, $"LVM2 metadata area header CRC mismatch (stored 0x{stored:x8}, computed 0x{actual:x8})");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(VersionField));
        if (version != 1) throw new CorruptDataException(where, area.Offset + VersionField, $"LVM2 metadata area version {version} (expected 1)");
        ulong start = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(StartField));
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(SizeField));
        if (start != (ulong)area.Offset || size <= HeaderBytes || size > long.MaxValue)
            throw new CorruptDataException(where, area.Offset + StartField, $"LVM2 metadata area header says start {start}, size {size}; the PV label says {area.Offset}");
        for (int slot = RawLocnField; slot + RawLocnBytes <= HeaderBytes; slot += RawLocnBytes)
        {
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(slot));
            ulong textSize = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(slot + 8));
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(slot + 16));
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(slot + 20));
            if (offset == 0 && textSize == 0) break;
            if ((flags & RawLocnIgnored) != 0) continue;
            return ReadCircular(pv, area.Offset, (long)size, offset, textSize, crc, where);
        }
        throw new CorruptDataException(where, area.Offset + RawLocnField, "LVM2 metadata area holds no metadata text");
    }

    private static string ReadCircular(IReadAt pv, long areaStart, long areaSize, ulong offset, ulong size, uint crc, string where)
    {
        if (offset < HeaderBytes || offset >= (ulong)areaSize || size == 0 || size > MaxTextBytes || size > (ulong)areaSize - HeaderBytes)
            throw new CorruptDataException(where, areaStart, $"LVM2 metadata text location (offset {offset}, {size} bytes) does not fit the {areaSize}-byte area");
        var text = new byte[size];
        long first = Math.Min((long)size, areaSize - (long)offset);
        pv.ReadExactly(areaStart + (long)offset, text.AsSpan(0, (int)first), where + " LVM2 metadata text");
        if (first < (long)size)
            pv.ReadExactly(areaStart + HeaderBytes, text.AsSpan((int)first), where + " LVM2 metadata text (wrapped)");
        uint actual = Crc32.Lvm(text);
        if (actual != crc)
            throw new CorruptDataException(where, areaStart + (long)offset, $"LVM2 metadata text CRC mismatch (stored 0x{crc:x8}, computed 0x{actual:x8})");
        int end = Array.IndexOf(text, (byte)0);
        return Encoding.UTF8.GetString(text, 0, end < 0 ? text.Length : end);
    }
}
