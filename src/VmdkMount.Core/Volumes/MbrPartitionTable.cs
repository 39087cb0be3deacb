using System.Buffers.Binary;

namespace VmdkMount.Core.Volumes;

/// <summary>One 16-byte MBR/EBR partition entry. CHS fields are ignored: LBA fields are what every OS uses.</summary>
internal readonly record struct MbrEntry(int Slot, byte Status, byte Type, uint StartLba, uint SectorCount)
{
    public bool IsEmpty => Type == 0 || SectorCount == 0;
    public bool IsExtended => Type is MbrPartitionTable.TypeExtendedChs or MbrPartitionTable.TypeExtendedLba or MbrPartitionTable.TypeExtendedLinux;
    public bool IsGptProtective => Type == MbrPartitionTable.TypeGptProtective;
}

/// <summary>Sector 0 of an MBR disk (and, with the same layout, every EBR): four entries and the 55 AA signature.</summary>
internal sealed class MbrPartitionTable
{
    public const int SectorBytes = 512;
    public const int DiskSignatureOffset = 440;
    public const int FirstEntryOffset = 446;
    public const int EntrySize = 16;
    public const int EntryCount = 4;
    public const int BootSignatureOffset = 510;

    private const int StatusField = 0;
    private const int TypeField = 4;
    private const int StartLbaField = 8;
    private const int SectorCountField = 12;

    public const byte StatusActive = 0x80;
    public const byte TypeExtendedChs = 0x05;
    public const byte TypeExtendedLba = 0x0F;
    public const byte TypeExtendedLinux = 0x85;
    public const byte TypeGptProtective = 0xEE;
    public const byte TypeLdm = 0x42;

    private MbrPartitionTable(uint diskSignature, MbrEntry[] entries)
    {
        DiskSignature = diskSignature;
        Entries = entries;
    }

    public uint DiskSignature { get; }

    /// <summary>All four slots, empty ones included (slot numbers are 1..4).</summary>
    public IReadOnlyList<MbrEntry> Entries { get; }

    public IEnumerable<MbrEntry> UsedEntries => Entries.Where(e => !e.IsEmpty);

    public static bool HasBootSignature(ReadOnlySpan<byte> sector) =>
        sector.Length >= SectorBytes && sector[BootSignatureOffset] == 0x55 && sector[BootSignatureOffset + 1] == 0xAA;

    /// <summary>Decodes the four entries; null when the 55 AA signature is missing.</summary>
    public static MbrPartitionTable? Parse(ReadOnlySpan<byte> sector)
    {
        if (!HasBootSignature(sector)) return null;
        var entries = new MbrEntry[EntryCount];
        for (int i = 0; i < EntryCount; i++)
        {
            var e = sector.Slice(FirstEntryOffset + i * EntrySize, EntrySize);
            entries[i] = new MbrEntry(i + 1, e[StatusField], e[TypeField],
                BinaryPrimitives.ReadUInt32LittleEndian(e[StartLbaField..]),
                BinaryPrimitives.ReadUInt32LittleEndian(e[SectorCountField..]));
        }
        return new MbrPartitionTable(BinaryPrimitives.ReadUInt32LittleEndian(sector[DiskSignatureOffset..]), entries);
    }

    /// <summary>
    /// Whether the entries look like a real partition table rather than boot code that happens to end in 55 AA:
    /// status 0x00/0x80, non-empty entries start at LBA 1 or later, at least one entry used.
    /// </summary>
    public bool LooksValid()
    {
        bool any = false;
        foreach (var e in Entries)
        {
            if (e.Status != 0 && e.Status != StatusActive) return false;
            if (e.IsEmpty) continue;
            if (e.StartLba == 0) return false;
            any = true;
        }
        return any;
    }
}
