using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// Finds the header a hosted sparse file is read by: the one in sector 0, or, when that one says the grain directory
/// is at the end (GD_AT_END, a VMware-layout streamOptimized file), the footer in the last three sectors
/// (footer marker, footer, end-of-stream marker).
/// </summary>
public static class SparseHeaderReader
{
    /// <summary>Footer marker, footer, EOS marker: the last three sectors of a VMware-layout stream file.</summary>
    private const int FooterTailBytes = 3 * Sector.Size;

    private const string RecoverHint = "a stream cut short (a copy or download that stopped) is read from the grains that survive with --recover-truncated";

    /// <summary>Reads and validates the header (using the footer when gdOffset is GD_AT_END). Capacity 0 is let through for the descriptor-container case.</summary>
    public static SparseExtentHeader Read(IReadAt file, string fileName, out bool fromFooter)
    {
        fromFooter = false;
        Span<byte> sector = stackalloc byte[SparseExtentHeader.Size];
        file.ReadExactly(0, sector, $"{fileName}: sparse extent header");
        var header = SparseExtentHeader.Parse(sector, $"{fileName}: sparse extent header", 0, allowZeroCapacity: true);
        if (!header.GdIsAtEnd) return header;

        long tail = file.Length - FooterTailBytes;
        if (tail < SparseExtentHeader.Size)
            throw new CorruptDataException($"{fileName}: stream footer", Math.Max(0, tail), "invalid footer: the file is too short to hold footer marker, footer and end-of-stream marker (truncated?)") { Hint = RecoverHint };
        Span<byte> tailBytes = stackalloc byte[FooterTailBytes];
        file.ReadExactly(tail, tailBytes, $"{fileName}: stream footer");
        var footerMarker = StreamMarker.Read(tailBytes);
        if (!footerMarker.IsMarker || footerMarker.Type != StreamMarker.TypeFooter)
            throw new CorruptDataException($"{fileName}: stream footer marker", tail,
                "invalid footer: grain directory is at the end (GD_AT_END) but no footer marker precedes the last two sectors (file truncated or not finished?)") { Hint = RecoverHint };
        var eos = StreamMarker.Read(tailBytes[(2 * Sector.Size)..]);
        if (!eos.IsMarker || eos.Type != StreamMarker.TypeEos || eos.Value != 0)
            throw new CorruptDataException($"{fileName}: end-of-stream marker", tail + 2 * Sector.Size, "invalid footer: the last sector is not an end-of-stream marker") { Hint = RecoverHint };
        var footer = SparseExtentHeader.Parse(tailBytes.Slice(Sector.Size, SparseExtentHeader.Size), $"{fileName}: stream footer", tail + Sector.Size, allowZeroCapacity: true);
        if (footer.GdIsAtEnd)
            throw new CorruptDataException($"{fileName}: stream footer", tail + Sector.Size + SparseExtentHeader.GdOffsetField, "invalid footer: its gdOffset is GD_AT_END again");
        fromFooter = true;
        return footer;
    }

    /// <summary>The header in sector 0 (not the footer), or null when it does not parse: what `--recover-truncated` starts from.</summary>
    public static SparseExtentHeader? FirstHeader(IReadAt file, string fileName)
    {
        Span<byte> sector = stackalloc byte[SparseExtentHeader.Size];
        if (file.ReadAt(0, sector) != sector.Length) return null;
        try
        {
            return SparseExtentHeader.Parse(sector, $"{fileName}: sparse extent header", 0, allowZeroCapacity: false);
        }
        catch (VmdkMountException)
        {
            return null;
        }
    }
}
