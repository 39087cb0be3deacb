using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Volumes;

/// <summary>
/// Reads a GPT: the primary header and entry array, each CRC-checked, falling back to the backup header (and its own
/// array) when the primary is damaged. Says which copy it used in the warnings.
/// </summary>
internal sealed class GptPartitionTable
{
    private GptPartitionTable(GptHeader header, IReadOnlyList<GptPartitionEntry> entries)
    {
        Header = header;
        Entries = entries;
    }

    public GptHeader Header { get; }

    /// <summary>Used slots in slot order.</summary>
    public IReadOnlyList<GptPartitionEntry> Entries { get; }

    /// <summary>Reads the GPT of a disk whose LBA 1 is known to hold "EFI PART" (or whose MBR is protective). Null when no valid copy exists.</summary>
    public static GptPartitionTable? Read(IReadAt disk, int sectorSize, List<string> warnings)
    {
        long lastLba = disk.Length / sectorSize - 1;
        var primary = ReadHeader(disk, 1, sectorSize, out string? primaryProblem);
        string? arrayProblem = null;
        if (primary is not null)
        {
            var entries = ReadEntries(disk, primary, sectorSize, out arrayProblem);
            if (entries is not null)
            {
                if (primary.AlternateLba != lastLba)
                    warnings.Add($"GPT backup header is expected at LBA {primary.AlternateLba} but the disk's last LBA is {lastLba} (disk resized?); primary GPT used");
                return new GptPartitionTable(primary, entries);
            }
        }
        string why = primaryProblem is not null
            ? $"primary GPT header at LBA 1 is damaged ({primaryProblem})"
            : $"primary GPT entry array at LBA {primary!.EntryArrayLba} is damaged ({arrayProblem})";

        var candidates = new List<long>();
        if (primary is not null && primary.AlternateLba > 1 && primary.AlternateLba <= lastLba) candidates.Add(primary.AlternateLba);
        if (!candidates.Contains(lastLba)) candidates.Add(lastLba);
        var problems = new List<string>();
        foreach (long lba in candidates)
        {
            var backup = ReadHeader(disk, lba, sectorSize, out string? backupProblem);
            if (backup is null) { problems.Add($"backup header at LBA {lba}: {backupProblem}"); continue; }
            var entries = ReadEntries(disk, backup, sectorSize, out string? backupArrayProblem);
            if (entries is null) { problems.Add($"backup entry array at LBA {backup.EntryArrayLba}: {backupArrayProblem}"); continue; }
            warnings.Add($"{why}; using the backup GPT header at LBA {lba}");
            return new GptPartitionTable(backup, entries);
        }
        warnings.Add($"GPT damaged: {why}, and no valid backup ({string.Join("; ", problems)})");
        return null;
    }

    /// <summary>
    /// For `check`: both copies of the GPT, each header and entry array CRC-checked, the backup where the primary says
    /// (and at the disk's last LBA), and the two copies agreeing on the entries. Empty when both copies are sound.
    /// Reads two headers and two arrays (at most <see cref="GptHeader.MaxEntryArrayBytes"/> each).
    /// </summary>
    public static List<string> Verify(IReadAt disk, int sectorSize)
    {
        var problems = new List<string>();
        long lastLba = disk.Length / sectorSize - 1;
        var primary = ReadHeader(disk, 1, sectorSize, out string? primaryProblem);
        List<GptPartitionEntry>? primaryEntries = null;
        if (primary is null) problems.Add($"GPT: primary header at LBA 1 is damaged ({primaryProblem})");
        else
        {
            primaryEntries = ReadEntries(disk, primary, sectorSize, out string? arrayProblem);
            if (primaryEntries is null) problems.Add($"GPT: primary entry array at LBA {primary.EntryArrayLba} is damaged ({arrayProblem})");
        }
        long backupLba = primary is not null && primary.AlternateLba > 1 && primary.AlternateLba <= lastLba ? primary.AlternateLba : lastLba;
        var backup = ReadHeader(disk, backupLba, sectorSize, out string? backupProblem);
        if (backup is null)
        {
            problems.Add($"GPT: backup header at LBA {backupLba} is damaged or missing ({backupProblem})");
            return problems;
        }
        if (backup.MyLba != backupLba) problems.Add($"GPT: backup header at LBA {backupLba} says it lies at LBA {backup.MyLba}");
        var backupEntries = ReadEntries(disk, backup, sectorSize, out string? backupArrayProblem);
        if (backupEntries is null)
        {
            problems.Add($"GPT: backup entry array at LBA {backup.EntryArrayLba} is damaged ({backupArrayProblem})");
            return problems;
        }
        if (primary is not null && primaryEntries is not null && (primary.EntryArrayCrc != backup.EntryArrayCrc || primary.DiskGuid != backup.DiskGuid))
            problems.Add($"GPT: the primary and backup copies disagree (entry array CRC 0x{primary.EntryArrayCrc:x8} vs 0x{backup.EntryArrayCrc:x8}, disk GUID {primary.DiskGuid} vs {backup.DiskGuid})");
        return problems;
    }

    private static GptHeader? ReadHeader(IReadAt disk, long lba, int sectorSize, out string? problem)
    {
        var sector = new byte[sectorSize];
        if (lba < 0 || lba > long.MaxValue / sectorSize || disk.ReadAt(lba * sectorSize, sector) != sectorSize)
        {
            problem = "cannot be read (past the end of the disk)";
            return null;
        }
        return GptHeader.Parse(sector, out problem);
    }

    private static List<GptPartitionEntry>? ReadEntries(IReadAt disk, GptHeader header, int sectorSize, out string? problem)
    {
        problem = null;
        int bytes = header.EntryArrayBytes;
        if (header.EntryArrayLba < 1 || header.EntryArrayLba > (disk.Length - bytes) / sectorSize)
        {
            problem = $"entry array at LBA {header.EntryArrayLba} ({bytes} bytes) lies outside the disk";
            return null;
        }
        var array = new byte[bytes];
        if (disk.ReadAt(header.EntryArrayLba * sectorSize, array) != bytes)
        {
            problem = "entry array cannot be read";
            return null;
        }
        uint crc = Crc32.Ieee(array);
        if (crc != header.EntryArrayCrc)
        {
            problem = $"entry array CRC32 mismatch (stored 0x{header.EntryArrayCrc:x8}, computed 0x{crc:x8})";
            return null;
        }
        var entries = new List<GptPartitionEntry>();
        for (int i = 0; i < header.EntryCount; i++)
        {
            var e = GptPartitionEntry.Parse(array.AsSpan(i * header.EntrySize, GptHeader.MinEntrySize), i + 1);
            if (e is not null) entries.Add(e);
        }
        return entries;
    }
}
