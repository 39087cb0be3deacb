using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>One file or directory as its entry set (file + stream extension + file name entries) describes it.</summary>
internal sealed record ExFatFileRecord
{
    public required string Name { get; init; }
    public required ushort Attributes { get; init; }
    public required bool NoFatChain { get; init; }
    public required uint FirstCluster { get; init; }
    public required ulong DataLength { get; init; }
    public required ulong ValidDataLength { get; init; }
    /// <summary>Byte offset of the file (0x85) entry in the volume: the node's id.</summary>
    public required long EntryOffset { get; init; }
    public FsTime? Created { get; init; }
    public FsTime? Modified { get; init; }
    public FsTime? Accessed { get; init; }
    /// <summary>Set when the entry set is readable but damaged (checksum mismatch): listed, but not to be trusted for data.</summary>
    public string? Problem { get; init; }

    public bool IsDirectory => (Attributes & FatDirectoryReader.AttrDirectory) != 0;
}

/// <summary>Where the root directory says the up-case table is.</summary>
internal readonly record struct ExFatUpCaseLocation(uint FirstCluster, ulong Length, uint Checksum, long EntryOffset);

/// <summary>
/// Decodes an exFAT directory: entry sets of a file entry (0x85), a stream extension (0xC0) and name entries (0xC1),
/// each checked against its set checksum; in the root also the bitmap (0x81), up-case (0x82) and label (0x83)
/// entries. Unused entries (in-use bit clear) and benign entries are skipped; the directory ends at a 0x00 type.
/// Names pass <see cref="Utf16NameEscape"/> (a damaged set's '/' or NUL shows as %2F / %00); a name `.` or `..` is
/// kept here and reported as unshown by the directory.
/// </summary>
internal static class ExFatDirectoryEntrySet
{
    public const int EntrySize = 32;

    private const byte EndOfDirectory = 0x00;
    private const byte InUse = 0x80;
    private const byte Secondary = 0x40;
    private const byte TypeAllocationBitmap = 0x81;
    private const byte TypeUpCaseTable = 0x82;
    private const byte TypeVolumeLabel = 0x83;
    private const byte TypeFile = 0x85;
    private const byte TypeVolumeGuid = 0xA0;
    private const byte TypeStreamExtension = 0xC0;
    private const byte TypeFileName = 0xC1;

    private const int SecondaryCountOffset = 1;
    private const int SetChecksumOffset = 2;
    private const int FileAttributesOffset = 4;
    private const int CreateTimestampOffset = 8;
    private const int ModifyTimestampOffset = 12;
    private const int AccessTimestampOffset = 16;
    private const int Create10msOffset = 20;
    private const int Modify10msOffset = 21;
    private const int CreateUtcOffset = 22;
    private const int ModifyUtcOffset = 23;
    private const int AccessUtcOffset = 24;
    private const int MinSecondaries = 2;
    private const int MaxSecondaries = 18;

    private const int StreamFlagsOffset = 1;
    private const int StreamNameLengthOffset = 3;
    private const int StreamValidDataLengthOffset = 8;
    private const int StreamFirstClusterOffset = 20;
    private const int StreamDataLengthOffset = 24;
    private const byte StreamNoFatChain = 0x02;

    private const int NameCharsOffset = 2;
    private const int NameCharsPerEntry = 15;

    private const int LabelLengthOffset = 1;
    private const int LabelOffset = 2;
    private const int MaxLabelChars = 11;
    private const int UpCaseChecksumOffset = 4;
    private const int FirstClusterOffset = 20;
    private const int DataLengthOffset = 24;

    /// <param name="problems">Entry sets too damaged to show (they are skipped; the rest of the directory still lists).</param>
    public static List<ExFatFileRecord> Read(ReadOnlySpan<byte> dir, Func<long, long> volumeOffsetOf, string where,
        bool isRoot, out string? label, out ExFatUpCaseLocation? upCase, List<CorruptDataException> problems)
    {
        label = null;
        upCase = null;
        var records = new List<ExFatFileRecord>();
        int pos = 0;
        while (pos + EntrySize <= dir.Length)
        {
            var e = dir.Slice(pos, EntrySize);
            byte type = e[0];
            if (type == EndOfDirectory) break;
            if ((type & InUse) == 0 || (type & Secondary) != 0)
            {
                pos += EntrySize;
                continue;
            }
            switch (type)
            {
                case TypeFile:
                    int length = EntrySize;
                    try
                    {
                        records.Add(ReadSet(dir, pos, volumeOffsetOf, where, out length));
                    }
                    catch (CorruptDataException problem)
                    {
                        problems.Add(problem);
                    }
                    pos += length;
                    continue;
                case TypeVolumeLabel when isRoot:
                    int chars = Math.Min((int)e[LabelLengthOffset], MaxLabelChars);
                    if (chars > 0) label = Utf16(e.Slice(LabelOffset, chars * 2));
                    break;
                case TypeUpCaseTable when isRoot:
                    upCase = new ExFatUpCaseLocation(BinaryPrimitives.ReadUInt32LittleEndian(e[FirstClusterOffset..]),
                        BinaryPrimitives.ReadUInt64LittleEndian(e[DataLengthOffset..]),
                        BinaryPrimitives.ReadUInt32LittleEndian(e[UpCaseChecksumOffset..]), volumeOffsetOf(pos));
                    break;
                case TypeVolumeGuid:
                    pos += EntrySize * (1 + e[SecondaryCountOffset]);
                    continue;
                case TypeAllocationBitmap:
                default:
                    break;
            }
            pos += EntrySize;
        }
        return records;
    }

    /// <summary>
    /// The allocation bitmaps (0x81 entries) of a root directory, in order: (first cluster, length in bytes, which
    /// bitmap: 0 or 1, the second of a TexFAT volume). No reader of files needs them; the change locator asks which
    /// clusters are free.
    /// </summary>
    public static List<(uint FirstCluster, ulong Length, int Index)> AllocationBitmaps(ReadOnlySpan<byte> root)
    {
        const int bitmapFlagsOffset = 1;
        var bitmaps = new List<(uint, ulong, int)>();
        for (int pos = 0; pos + EntrySize <= root.Length; pos += EntrySize)
        {
            var e = root.Slice(pos, EntrySize);
            if (e[0] == EndOfDirectory) break;
            if (e[0] == TypeAllocationBitmap)
                bitmaps.Add((BinaryPrimitives.ReadUInt32LittleEndian(e[FirstClusterOffset..]), BinaryPrimitives.ReadUInt64LittleEndian(e[DataLengthOffset..]),
                    e[bitmapFlagsOffset] & 1));
        }
        return bitmaps;
    }

    private static ExFatFileRecord ReadSet(ReadOnlySpan<byte> dir, int pos, Func<long, long> volumeOffsetOf, string where, out int length)
    {
        long at = volumeOffsetOf(pos);
        var file = dir.Slice(pos, EntrySize);
        int secondaries = file[SecondaryCountOffset];
        if (secondaries is < MinSecondaries or > MaxSecondaries)
            throw new CorruptDataException(where, at, $"file entry set with {secondaries} secondary entries (2..18 allowed)");
        if (pos + EntrySize * (secondaries + 1) > dir.Length)
            throw new CorruptDataException(where, at, "file entry set runs past the end of the directory");
        length = EntrySize * (secondaries + 1);
        var set = dir.Slice(pos, length);
        ushort stored = BinaryPrimitives.ReadUInt16LittleEndian(set[SetChecksumOffset..]);
        ushort computed = SetChecksum(set);
        string? problem = stored == computed ? null
            : $"file entry set checksum is 0x{stored:X4}, the entries sum to 0x{computed:X4}";

        var stream = set.Slice(EntrySize, EntrySize);
        if (stream[0] != TypeStreamExtension)
            throw new CorruptDataException(where, volumeOffsetOf(pos + EntrySize), $"entry type 0x{stream[0]:X2} where the stream extension (0xC0) belongs");
        int nameLength = stream[StreamNameLengthOffset];
        int nameEntries = (nameLength + NameCharsPerEntry - 1) / NameCharsPerEntry;
        if (nameLength == 0 || nameEntries > secondaries - 1)
            throw new CorruptDataException(where, volumeOffsetOf(pos + EntrySize), $"name of {nameLength} characters does not fit the set's {secondaries - 1} name entries");
        Span<char> name = stackalloc char[nameEntries * NameCharsPerEntry];
        for (int k = 0; k < nameEntries; k++)
        {
            var n = set.Slice(EntrySize * (2 + k), EntrySize);
            if (n[0] != TypeFileName)
                throw new CorruptDataException(where, volumeOffsetOf(pos + EntrySize * (2 + k)), $"entry type 0x{n[0]:X2} where a file name entry (0xC1) belongs");
            for (int c = 0; c < NameCharsPerEntry; c++)
                name[k * NameCharsPerEntry + c] = (char)BinaryPrimitives.ReadUInt16LittleEndian(n[(NameCharsOffset + 2 * c)..]);
        }
        var text = name[..nameLength];

        ulong dataLength = BinaryPrimitives.ReadUInt64LittleEndian(stream[StreamDataLengthOffset..]);
        ulong validLength = BinaryPrimitives.ReadUInt64LittleEndian(stream[StreamValidDataLengthOffset..]);
        if (validLength > dataLength)
            throw new CorruptDataException(where, at, $"valid data length {validLength} is larger than the data length {dataLength}");
        return new ExFatFileRecord
        {
            Name = Utf16NameEscape.Encode(new string(text)), // `.` and `..` pass: the directory reports them
            Attributes = BinaryPrimitives.ReadUInt16LittleEndian(file[FileAttributesOffset..]),
            NoFatChain = (stream[StreamFlagsOffset] & StreamNoFatChain) != 0,
            FirstCluster = BinaryPrimitives.ReadUInt32LittleEndian(stream[StreamFirstClusterOffset..]),
            DataLength = dataLength,
            ValidDataLength = validLength,
            EntryOffset = at,
            Created = FatTime.FromExFat(BinaryPrimitives.ReadUInt32LittleEndian(file[CreateTimestampOffset..]), file[Create10msOffset], file[CreateUtcOffset]),
            Modified = FatTime.FromExFat(BinaryPrimitives.ReadUInt32LittleEndian(file[ModifyTimestampOffset..]), file[Modify10msOffset], file[ModifyUtcOffset]),
            Accessed = FatTime.FromExFat(BinaryPrimitives.ReadUInt32LittleEndian(file[AccessTimestampOffset..]), 0, file[AccessUtcOffset]),
            Problem = problem,
        };
    }

    /// <summary>16-bit rotate-add over every byte of the set except the checksum field itself.</summary>
    public static ushort SetChecksum(ReadOnlySpan<byte> set)
    {
        ushort sum = 0;
        for (int i = 0; i < set.Length; i++)
        {
            if (i is SetChecksumOffset or SetChecksumOffset + 1) continue;
            sum = (ushort)(((sum & 1) << 15 | sum >> 1) + set[i]);
        }
        return sum;
    }

    private static string Utf16(ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = stackalloc char[bytes.Length / 2];
        for (int i = 0; i < chars.Length; i++) chars[i] = (char)BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]);
        return new string(chars);
    }
}
