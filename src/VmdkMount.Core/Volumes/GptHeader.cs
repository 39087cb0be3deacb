using System.Buffers.Binary;

namespace VmdkMount.Core.Volumes;

/// <summary>A GPT header (UEFI spec 5.3.2): at LBA 1 (primary) and at the disk's last LBA (backup).</summary>
internal sealed record GptHeader
{
    public static ReadOnlySpan<byte> Signature => "EFI PART"u8;

    private const int SignatureField = 0;
    private const int RevisionField = 8;
    private const int HeaderSizeField = 12;
    private const int HeaderCrcField = 16;
    private const int MyLbaField = 24;
    private const int AlternateLbaField = 32;
    private const int FirstUsableLbaField = 40;
    private const int LastUsableLbaField = 48;
    private const int DiskGuidField = 56;
    private const int EntryArrayLbaField = 72;
    private const int EntryCountField = 80;
    private const int EntrySizeField = 84;
    private const int EntryArrayCrcField = 88;

    public const int MinHeaderSize = 92;
    public const int MinEntrySize = 128;

    /// <summary>A sane cap on the entry array (normally 16 KiB): an absurd count is damage, not a reason to allocate.</summary>
    public const int MaxEntryArrayBytes = 4 * 1024 * 1024;

    public required uint Revision { get; init; }
    public required long MyLba { get; init; }
    public required long AlternateLba { get; init; }
    public required long FirstUsableLba { get; init; }
    public required long LastUsableLba { get; init; }
    public required Guid DiskGuid { get; init; }
    public required long EntryArrayLba { get; init; }
    public required int EntryCount { get; init; }
    public required int EntrySize { get; init; }
    public required uint EntryArrayCrc { get; init; }

    public int EntryArrayBytes => EntryCount * EntrySize;

    public static bool HasSignature(ReadOnlySpan<byte> sector) => sector.Length >= 8 && sector[..8].SequenceEqual(Signature);

    /// <summary>Decodes and validates a header sector; on failure returns null and says why in <paramref name="problem"/>.</summary>
    public static GptHeader? Parse(ReadOnlySpan<byte> sector, out string? problem)
    {
        problem = null;
        if (!HasSignature(sector)) { problem = "no \"EFI PART\" signature"; return null; }
        uint headerSize = BinaryPrimitives.ReadUInt32LittleEndian(sector[HeaderSizeField..]);
        if (headerSize < MinHeaderSize || headerSize > sector.Length)
        {
            problem = $"header size {headerSize} is outside {MinHeaderSize}..{sector.Length}";
            return null;
        }
        uint storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(sector[HeaderCrcField..]);
        Span<byte> copy = stackalloc byte[(int)headerSize];
        sector[..(int)headerSize].CopyTo(copy);
        copy.Slice(HeaderCrcField, 4).Clear();
        uint actualCrc = Crc32.Ieee(copy);
        if (actualCrc != storedCrc)
        {
            problem = $"header CRC32 mismatch (stored 0x{storedCrc:x8}, computed 0x{actualCrc:x8})";
            return null;
        }
        uint entryCount = BinaryPrimitives.ReadUInt32LittleEndian(sector[EntryCountField..]);
        uint entrySize = BinaryPrimitives.ReadUInt32LittleEndian(sector[EntrySizeField..]);
        if (entrySize < MinEntrySize || entrySize > 4096 || (entrySize & (entrySize - 1)) != 0)
        {
            problem = $"partition entry size {entrySize} is not 128 x 2^n";
            return null;
        }
        if (entryCount == 0 || (ulong)entryCount * entrySize > MaxEntryArrayBytes)
        {
            problem = $"{entryCount} partition entries of {entrySize} bytes is not a plausible entry array";
            return null;
        }
        long myLba = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(sector[MyLbaField..]), long.MaxValue);
        long alternate = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(sector[AlternateLbaField..]), long.MaxValue);
        long firstUsable = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(sector[FirstUsableLbaField..]), long.MaxValue);
        long lastUsable = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(sector[LastUsableLbaField..]), long.MaxValue);
        long arrayLba = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(sector[EntryArrayLbaField..]), long.MaxValue);
        return new GptHeader
        {
            Revision = BinaryPrimitives.ReadUInt32LittleEndian(sector[RevisionField..]),
            MyLba = myLba,
            AlternateLba = alternate,
            FirstUsableLba = firstUsable,
            LastUsableLba = lastUsable,
            DiskGuid = new Guid(sector.Slice(DiskGuidField, 16)),
            EntryArrayLba = arrayLba,
            EntryCount = (int)entryCount,
            EntrySize = (int)entrySize,
            EntryArrayCrc = BinaryPrimitives.ReadUInt32LittleEndian(sector[EntryArrayCrcField..]),
        };
    }
}
