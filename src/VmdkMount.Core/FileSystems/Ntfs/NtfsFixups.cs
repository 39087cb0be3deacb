using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// Update sequence array ("fixups") of multi-sector protected structures (FILE, INDX records): the last two bytes
/// of every 512-byte stride were replaced on disk by the update sequence number; the originals sit in the array.
/// The stride is 512 bytes whatever the volume's sector size.
/// </summary>
internal static class NtfsFixups
{
    public const int Stride = 512;
    private const int UsaOffsetField = 4;
    private const int UsaCountField = 6;

    /// <summary>Restores the protected bytes in place; a mismatch means a torn or damaged record.</summary>
    public static void Apply(Span<byte> record, string where, long offset)
    {
        if (record.Length < Stride) throw new CorruptDataException(where, offset, $"record of {record.Length} bytes is shorter than one fixup stride");
        int usaOff = BinaryPrimitives.ReadUInt16LittleEndian(record[UsaOffsetField..]);
        int usaCount = BinaryPrimitives.ReadUInt16LittleEndian(record[UsaCountField..]);
        if ((usaOff & 1) != 0 || usaCount < 2 || usaOff < 8 || usaOff + 2 * usaCount > Stride)
            throw new CorruptDataException(where, offset + UsaOffsetField, $"update sequence array (offset {usaOff}, count {usaCount}) is invalid");
        // More array entries than strides is legal (libfsntfs has seen it): apply what fits.
        int strides = Math.Min(usaCount - 1, record.Length / Stride);
        ushort usn = BinaryPrimitives.ReadUInt16LittleEndian(record[usaOff..]);
        for (int i = 1; i <= strides; i++)
        {
            int pos = i * Stride - 2;
            if (BinaryPrimitives.ReadUInt16LittleEndian(record[pos..]) != usn)
                throw new CorruptDataException(where, offset + pos, $"update sequence mismatch in stride {i} (torn write or damaged record)");
            record[pos] = record[usaOff + 2 * i];
            record[pos + 1] = record[usaOff + 2 * i + 1];
        }
    }
}
