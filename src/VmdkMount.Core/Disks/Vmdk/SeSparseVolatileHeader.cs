using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// The volatile header of an SEsparse extent: the part ESXi rewrites while the delta
/// is open. A set replay_journal means the grain tables may be stale until the journal is replayed; the journal
/// format is unknown, so such a file is refused, as qemu does.
/// </summary>
internal sealed record SeSparseVolatileHeader(ulong FreeGtNumber, ulong NextTxnSeqNumber)
{
    public const int Size = Sector.Size;
    public const ulong Magic = 0x00000000CAFECAFEUL;

    private const int MagicOffset = 0;
    private const int FreeGtNumberOffset = 8;
    private const int NextTxnSeqNumberOffset = 16;
    private const int ReplayJournalOffset = 24;
    private const int PadOffset = 32;

    /// <summary>Decodes the volatile header read from <paramref name="fileOffset"/> (used in messages).</summary>
    public static SeSparseVolatileHeader Parse(ReadOnlySpan<byte> header, string fileName, long fileOffset)
    {
        string where = $"{fileName}: SEsparse volatile header";
        if (header.Length < Size)
            throw new CorruptDataException(where, fileOffset, $"truncated: {Size} bytes needed, {header.Length} available");
        ulong magic = U64(header, MagicOffset);
        if (magic != Magic)
            throw new CorruptDataException(where, fileOffset + MagicOffset, $"bad magic 0x{magic:x16}");
        ulong replay = U64(header, ReplayJournalOffset);
        if (replay != 0)
            throw new UnsupportedFeatureException(where,
                $"dirty, journal replay needed (replay_journal = {replay} at offset {fileOffset + ReplayJournalOffset}); open the snapshot on ESXi once, or consolidate it, to replay the journal");
        int pad = header[PadOffset..Size].IndexOfAnyExcept((byte)0);
        if (pad >= 0)
            throw new UnsupportedFeatureException(where, $"non-zero volatile header padding at offset {fileOffset + PadOffset + pad}");
        return new SeSparseVolatileHeader(U64(header, FreeGtNumberOffset), U64(header, NextTxnSeqNumberOffset));
    }

    private static ulong U64(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(s[offset..]);
}
