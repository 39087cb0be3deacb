using System.Buffers.Binary;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>One live 8.3 directory entry and the name to show for it.</summary>
internal sealed record FatDirectoryRecord
{
    public required string Name { get; init; }
    /// <summary>The 8.3 alias as displayed without case flags (`LONGFI~1.TXT`), also accepted by lookup.</summary>
    public required string ShortName { get; init; }
    public required byte Attributes { get; init; }
    public required uint FirstCluster { get; init; }
    public required uint Size { get; init; }
    /// <summary>Byte offset of the 8.3 entry in the volume: the node's id.</summary>
    public required long EntryOffset { get; init; }
    public FsTime? Created { get; init; }
    public FsTime? Modified { get; init; }
    public FsTime? Accessed { get; init; }

    public bool IsDirectory => (Attributes & FatDirectoryReader.AttrDirectory) != 0;
}

/// <summary>
/// Decodes 32-byte FAT directory entries: 8.3 entries with the NT case flags, VFAT long-name runs (accepted only
/// when complete, in order and matching the 8.3 checksum, else the 8.3 name is shown), deleted entries skipped, a
/// subdirectory's own `.`/`..` (its first two entries) skipped and any other `.`/`..` reported as unshown, the volume
/// label entry reported separately. Names pass <see cref="Utf16NameEscape"/>.
/// </summary>
internal static class FatDirectoryReader
{
    public const int EntrySize = 32;
    public const byte AttrReadOnly = 0x01;
    public const byte AttrHidden = 0x02;
    public const byte AttrSystem = 0x04;
    public const byte AttrVolumeLabel = 0x08;
    public const byte AttrDirectory = 0x10;
    public const byte AttrArchive = 0x20;
    private const byte AttrLongName = 0x0F;
    private const byte AttrLongNameMask = 0x3F;

    private const byte EndOfDirectory = 0x00;

    /// <summary>The FAT attribute bits (exFAT keeps them in the same places, in 16 bits) as <see cref="FsAttributes"/>.</summary>
    public static FsAttributes ToFsAttributes(ushort attr)
    {
        var a = FsAttributes.None;
        if ((attr & AttrReadOnly) != 0) a |= FsAttributes.ReadOnly;
        if ((attr & AttrHidden) != 0) a |= FsAttributes.Hidden;
        if ((attr & AttrSystem) != 0) a |= FsAttributes.System;
        if ((attr & AttrArchive) != 0) a |= FsAttributes.Archive;
        return a;
    }
    private const byte Deleted = 0xE5;
    private const int CaseFlagsOffset = 12;
    private const int CreateTenMsOffset = 13;
    private const int CreateTimeOffset = 14;
    private const int CreateDateOffset = 16;
    private const int AccessDateOffset = 18;
    private const int ClusterHighOffset = 20;
    private const int ModifyTimeOffset = 22;
    private const int ModifyDateOffset = 24;
    private const int ClusterLowOffset = 26;
    private const int SizeOffset = 28;

    private const int LfnSequenceOffset = 0;
    private const int LfnTypeOffset = 12;
    private const int LfnChecksumOffset = 13;
    private const int LfnZeroClusterOffset = 26;
    private const byte LfnLastPart = 0x40;
    private const int LfnPartMask = 0x1F;
    private const int LfnMaxParts = 20;
    private const int LfnCharsPerEntry = 13;
    private static readonly (int Offset, int Count)[] LfnPieces = [(1, 5), (14, 6), (28, 2)];

    /// <param name="directory">The directory's bytes (its clusters concatenated, or the FAT12/16 root area).</param>
    /// <param name="volumeOffsetOf">Maps a position in <paramref name="directory"/> to its byte offset in the volume.</param>
    /// <param name="useClusterHigh">FAT32: bytes 20-21 hold the high half of the first cluster (elsewhere they are not ours).</param>
    /// <param name="label">The volume-label entry's text, when this directory has one.</param>
    /// <param name="unshown">Receives the entries no name can show (`.`/`..` other than a directory's first two
    /// entries, an empty name).</param>
    public static List<FatDirectoryRecord> Read(ReadOnlySpan<byte> directory, Func<long, long> volumeOffsetOf,
        bool useClusterHigh, out string? label, List<UnshownEntry> unshown)
    {
        label = null;
        var records = new List<FatDirectoryRecord>();
        Span<char> longName = stackalloc char[LfnMaxParts * LfnCharsPerEntry];
        int expectedPart = 0;     // next part number wanted; 0 = a complete run awaits its 8.3 entry or none started
        int partsTotal = 0;       // parts of the run in progress (0 = no run)
        byte lfnChecksum = 0;

        for (int pos = 0; pos + EntrySize <= directory.Length; pos += EntrySize)
        {
            var e = directory.Slice(pos, EntrySize);
            byte first = e[0];
            if (first == EndOfDirectory) break;
            byte attr = e[11];
            if (first == Deleted)
            {
                partsTotal = 0;
                continue;
            }
            if ((attr & AttrLongNameMask) == AttrLongName)
            {
                byte seq = e[LfnSequenceOffset];
                int part = seq & LfnPartMask;
                bool wellFormed = e[LfnTypeOffset] == 0 && BinaryPrimitives.ReadUInt16LittleEndian(e[LfnZeroClusterOffset..]) == 0
                    && part is >= 1 and <= LfnMaxParts;
                if (!wellFormed)
                    partsTotal = 0;
                else if ((seq & LfnLastPart) != 0)
                {
                    partsTotal = part;
                    expectedPart = part - 1;
                    lfnChecksum = e[LfnChecksumOffset];
                    longName.Fill('\0');
                    CopyLfnChars(e, longName[((part - 1) * LfnCharsPerEntry)..]);
                }
                else if (partsTotal > 0 && part == expectedPart && expectedPart > 0 && e[LfnChecksumOffset] == lfnChecksum)
                {
                    expectedPart--;
                    CopyLfnChars(e, longName[((part - 1) * LfnCharsPerEntry)..]);
                }
                else
                    partsTotal = 0;
                continue;
            }
            if ((attr & AttrVolumeLabel) != 0)
            {
                if ((attr & AttrDirectory) == 0) label ??= FatBootSector.Label(e[..FatShortName.Length]);
                partsTotal = 0;
                continue;
            }
            var raw = e[..FatShortName.Length];
            if (raw[0] == '.' && (raw[1..].IndexOfAnyExcept((byte)' ') < 0 || (raw[1] == '.' && raw[2..].IndexOfAnyExcept((byte)' ') < 0)))
            {
                partsTotal = 0;
                // a subdirectory's own `.` and `..` are its first two entries; the root has none
                if (pos >= 2 * EntrySize)
                    unshown.Add(new UnshownEntry(raw[1] == '.' ? ".." : ".", volumeOffsetOf(pos), "only a directory's first two entries may be named `.` and `..`"));
                continue;
            }

            string shortName = FatShortName.Display(raw, 0);
            string? name = null;
            if (partsTotal > 0 && expectedPart == 0 && lfnChecksum == FatShortName.Checksum(raw))
                name = LongNameText(longName[..(partsTotal * LfnCharsPerEntry)]);
            name ??= FatShortName.Display(raw, e[CaseFlagsOffset]);
            partsTotal = 0;
            if (name.Length == 0 || name == "." || name == "..")
            {
                unshown.Add(new UnshownEntry(name, volumeOffsetOf(pos), "a name a path cannot hold"));
                continue;
            }

            uint cluster = BinaryPrimitives.ReadUInt16LittleEndian(e[ClusterLowOffset..]);
            if (useClusterHigh) cluster |= (uint)BinaryPrimitives.ReadUInt16LittleEndian(e[ClusterHighOffset..]) << 16;
            records.Add(new FatDirectoryRecord
            {
                Name = name,
                ShortName = shortName,
                Attributes = attr,
                FirstCluster = cluster,
                Size = (attr & AttrDirectory) != 0 ? 0 : BinaryPrimitives.ReadUInt32LittleEndian(e[SizeOffset..]),
                EntryOffset = volumeOffsetOf(pos),
                Created = FatTime.FromDos(BinaryPrimitives.ReadUInt16LittleEndian(e[CreateDateOffset..]),
                    BinaryPrimitives.ReadUInt16LittleEndian(e[CreateTimeOffset..]), e[CreateTenMsOffset]),
                Modified = FatTime.FromDos(BinaryPrimitives.ReadUInt16LittleEndian(e[ModifyDateOffset..]),
                    BinaryPrimitives.ReadUInt16LittleEndian(e[ModifyTimeOffset..])),
                Accessed = FatTime.FromDos(BinaryPrimitives.ReadUInt16LittleEndian(e[AccessDateOffset..]), 0),
            });
        }
        return records;
    }

    /// <summary>
    /// The subfolders a directory's 8.3 entries name (the place of each entry, its first cluster), without decoding
    /// names: what the change locator needs of a folder that lists the same in two points. Skips what
    /// <see cref="Read"/> never shows as a folder: deleted, long-name and label entries, `.` and `..`.
    /// </summary>
    public static void ScanSubdirectories(ReadOnlySpan<byte> directory, Func<long, long> volumeOffsetOf, bool useClusterHigh,
        List<(long EntryOffset, uint FirstCluster)> subdirectories)
    {
        for (int pos = 0; pos + EntrySize <= directory.Length; pos += EntrySize)
        {
            var e = directory.Slice(pos, EntrySize);
            if (e[0] == EndOfDirectory) break;
            byte attr = e[11];
            if (e[0] == Deleted || (attr & AttrLongNameMask) == AttrLongName || (attr & AttrVolumeLabel) != 0 || (attr & AttrDirectory) == 0) continue;
            if (e[0] == '.' && (e[1..FatShortName.Length].IndexOfAnyExcept((byte)' ') < 0 || (e[1] == '.' && e[2..FatShortName.Length].IndexOfAnyExcept((byte)' ') < 0)))
                continue;
            uint cluster = BinaryPrimitives.ReadUInt16LittleEndian(e[ClusterLowOffset..]);
            if (useClusterHigh) cluster |= (uint)BinaryPrimitives.ReadUInt16LittleEndian(e[ClusterHighOffset..]) << 16;
            subdirectories.Add((volumeOffsetOf(pos), cluster));
        }
    }

    private static void CopyLfnChars(ReadOnlySpan<byte> entry, Span<char> destination)
    {
        int n = 0;
        foreach (var (offset, count) in LfnPieces)
            for (int i = 0; i < count; i++)
                destination[n++] = (char)BinaryPrimitives.ReadUInt16LittleEndian(entry[(offset + 2 * i)..]);
    }

    /// <summary>
    /// The name up to its NUL terminator, shown with <see cref="Utf16NameEscape"/> (a stored '/' is <c>%2F</c>), or
    /// null when it is unusable (empty, control characters or U+FFFF padding inside: the 8.3 name is shown instead).
    /// </summary>
    private static string? LongNameText(ReadOnlySpan<char> chars)
    {
        int end = chars.IndexOf('\0');
        if (end >= 0) chars = chars[..end];
        if (chars.IsEmpty) return null;
        foreach (char c in chars)
            if (c < 0x20 || c == '\uFFFF') return null;
        return Utf16NameEscape.Encode(new string(chars));
    }
}
