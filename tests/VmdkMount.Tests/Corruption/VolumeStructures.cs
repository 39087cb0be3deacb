using System.Buffers.Binary;
using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// The partition tables and LVM2 metadata of an intact disk, found by walking them (written apart from the scanner):
/// the MBR's entries, disk signature, boot code and 55 AA; each EBR of the chain (its logical entry, its link, its
/// signature); the primary and backup GPT headers and every slot of both entry arrays; each PV's label, pv_header,
/// mda headers and current metadata text. A region's <see cref="Touch"/> names the volume ids (`p5`, `lvm-vg-lv`)
/// whose entry or metadata it is, so every other volume must show as in the intact disk.
/// </summary>
public sealed class VolumeStructures
{
    public const int Sector = 512;
    private const int MaxEbrs = 128;

    private readonly IReadAt _disk;
    private readonly List<string> _logicals = [];
    private readonly List<string> _lvs;

    public List<MetadataRegion> Regions { get; } = [];

    /// <summary>The PVs found (byte offset on the disk, the id the intact scan gives the volume).</summary>
    public List<Pv> Pvs { get; } = [];

    public int SectorSize { get; }

    /// <summary>The GPT, when the disk has one.</summary>
    public Gpt? Table { get; private set; }

    public sealed record Pv(long Start, string Id, int LabelSector, long PvSize, List<(long Offset, long Size)> Mdas);

    public sealed record Gpt(long HeaderLba, long BackupLba, long EntriesLba, long BackupEntriesLba, int Count, int EntrySize, List<int> Used);

    /// <param name="lvIds">The LVs of the intact scan: damage to a VG's metadata may change any of them.</param>
    /// <param name="volumeAt">The intact scan's volume id at a byte offset (for naming what a PV's damage touches).</param>
    /// <param name="sectorSize">The disk's logical sector size (what its MBR and GPT LBAs count).</param>
    public VolumeStructures(IReadAt disk, int sectorSize, IReadOnlyList<string> lvIds, Func<long, string?> volumeAt)
    {
        _disk = disk;
        SectorSize = sectorSize;
        _lvs = [.. lvIds];
        var mbr = Mutations.Read(disk, 0, Sector);
        bool hasMbr = mbr[510] == 0x55 && mbr[511] == 0xAA;
        var pvCandidates = new List<long> { 0 };
        if (hasMbr) WalkMbr(mbr, pvCandidates);
        WalkGpt();
        foreach (long start in pvCandidates.Distinct()) WalkPv(start, volumeAt(start) ?? "disk");
    }

    private static string P(int n) => "p" + n;

    private void WalkMbr(byte[] mbr, List<long> pvCandidates)
    {
        // a primary entry may become extended or protective: it may change the logicals too (and a scheme change
        // is everything, which the runner sees by itself)
        Regions.Add(new MetadataRegion("mbr boot code", 0, 440, Touch.Nothing));
        Regions.Add(new MetadataRegion("mbr disk signature", 440, 6, Touch.Nothing));
        Regions.Add(new MetadataRegion("mbr 55AA", 510, 2, Touch.All));
        var extended = new List<(long Start, long Count)>();
        for (int slot = 1; slot <= 4; slot++)
        {
            int at = 446 + 16 * (slot - 1);
            byte type = mbr[at + 4];
            long start = BinaryPrimitives.ReadUInt32LittleEndian(mbr.AsSpan(at + 8));
            long count = BinaryPrimitives.ReadUInt32LittleEndian(mbr.AsSpan(at + 12));
            if (type is 0x05 or 0x0F or 0x85) extended.Add((start, count));
            else if (type != 0 && type != 0xEE) pvCandidates.Add(start * SectorSize);
        }
        if (extended.Count > 0) WalkEbrs(extended[0].Start, extended[0].Count);
        for (int slot = 1; slot <= 4; slot++)
        {
            int at = 446 + 16 * (slot - 1);
            byte type = mbr[at + 4];
            var touch = type == 0xEE ? Touch.Nothing : Touch.OfPaths([P(slot), .. _logicals]);
            Regions.Add(new MetadataRegion($"mbr entry {slot}{(type == 0 ? " (unused)" : "")}", at, 16, touch));
        }
    }

    /// <summary>The Kth EBR describes logical p(5+K) and links to the next: damage to it may change that logical and every later one.</summary>
    private void WalkEbrs(long container, long containerSectors)
    {
        var ebrs = new List<long>();
        long ebr = container;
        var seen = new HashSet<long>();
        while (ebrs.Count < MaxEbrs && seen.Add(ebr) && ebr < container + containerSectors)
        {
            var s = Mutations.Read(_disk, ebr * SectorSize, Sector);
            if (s[510] != 0x55 || s[511] != 0xAA) break;
            ebrs.Add(ebr);
            if (s[446 + 4] != 0) _logicals.Add(P(5 + _logicals.Count));
            long next = BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(462 + 8));
            if (s[462 + 4] == 0 || next == 0) break;
            ebr = container + next;
        }
        EbrLbas.AddRange(ebrs);
        ExtendedStart = container;
        for (int k = 0; k < ebrs.Count; k++)
        {
            long at = ebrs[k] * SectorSize;
            var fromHere = Touch.OfPaths(_logicals.Skip(k));
            Regions.Add(new MetadataRegion($"ebr {k} logical entry", at + 446, 16, fromHere));
            Regions.Add(new MetadataRegion($"ebr {k} link", at + 462, 16, Touch.OfPaths(_logicals.Skip(k + 1))));
            Regions.Add(new MetadataRegion($"ebr {k} 55AA", at + 510, 2, fromHere));
        }
    }

    /// <summary>LBAs of the EBRs in chain order.</summary>
    public List<long> EbrLbas { get; } = [];

    public long ExtendedStart { get; private set; }

    /// <summary>The logical partitions' ids in chain order.</summary>
    public IReadOnlyList<string> Logicals => _logicals;

    private void WalkGpt()
    {
        var h = Mutations.Read(_disk, SectorSize, 92);
        if (!h.AsSpan(0, 8).SequenceEqual("EFI PART"u8)) return;
        long backupLba = (long)BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(32));
        long entriesLba = (long)BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(72));
        int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(80));
        int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(84));
        var b = Mutations.Read(_disk, backupLba * SectorSize, 92);
        long backupEntries = (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(72));
        var used = new List<int>();
        // both copies are CRC-checked, so damage to one copy (its CRC then fails) must change no volume: the other is used
        Regions.Add(new MetadataRegion("gpt primary header", SectorSize, 92, Touch.Nothing));
        Regions.Add(new MetadataRegion("gpt backup header", backupLba * SectorSize, 92, Touch.Nothing));
        for (int i = 0; i < count && i < 1024; i++)
        {
            var e = Mutations.Read(_disk, entriesLba * SectorSize + (long)i * size, size);
            bool inUse = e.AsSpan(0, 16).ContainsAnyExcept((byte)0);
            if (inUse) used.Add(i);
            string tag = inUse ? "" : " (unused)";
            Regions.Add(new MetadataRegion($"gpt primary entry {i}{tag}", entriesLba * SectorSize + (long)i * size, size, Touch.Nothing));
            Regions.Add(new MetadataRegion($"gpt backup entry {i}{tag}", backupEntries * SectorSize + (long)i * size, size, Touch.Nothing));
        }
        Regions.Add(new MetadataRegion("gpt protective mbr entry", 446, 16, Touch.Nothing));
        Table = new Gpt(1, backupLba, entriesLba, backupEntries, count, size, used);
    }

    /// <summary>A PV's label, pv_header, mda headers and metadata text: damage may change the PV and every LV; with a second metadata copy on the PV, nothing.</summary>
    private void WalkPv(long start, string id)
    {
        var head = Mutations.Read(_disk, start, 4 * Sector);
        int s = Enumerable.Range(0, 4).FirstOrDefault(i => head.AsSpan(i * Sector, 8).SequenceEqual("LABELONE"u8), -1);
        if (s < 0) return;
        var label = head.AsSpan(s * Sector, Sector);
        int phAt = (int)BinaryPrimitives.ReadUInt32LittleEndian(label[20..]);
        if (phAt < 32 || phAt > Sector - 56) return;
        var ph = label[phAt..];
        long pvSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
        int pos = 40;
        while (pos + 16 <= ph.Length && BinaryPrimitives.ReadUInt64LittleEndian(ph[pos..]) != 0) pos += 16;   // data areas
        pos += 16;
        var mdas = new List<(long Offset, long Size)>();
        while (pos + 16 <= ph.Length && BinaryPrimitives.ReadUInt64LittleEndian(ph[pos..]) != 0)
        {
            mdas.Add(((long)BinaryPrimitives.ReadUInt64LittleEndian(ph[pos..]), (long)BinaryPrimitives.ReadUInt64LittleEndian(ph[(pos + 8)..])));
            pos += 16;
        }
        pos += 16;
        long labelAt = start + s * Sector;
        var everything = Touch.OfPaths([id, .. _lvs]);
        Regions.Add(new MetadataRegion("lvm label header", labelAt, 32, everything));
        Regions.Add(new MetadataRegion("lvm pv_header", labelAt + phAt, Math.Min(pos, Sector - phAt), everything));
        var oneCopy = mdas.Count > 1 ? Touch.Nothing : Touch.OfPaths(_lvs);
        for (int m = 0; m < mdas.Count; m++)
        {
            long mda = start + mdas[m].Offset;
            Regions.Add(new MetadataRegion($"lvm mda {m} header", mda, 512, oneCopy));
            var mh = Mutations.Read(_disk, mda, 512);
            long textAt = (long)BinaryPrimitives.ReadUInt64LittleEndian(mh.AsSpan(40));
            long textSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(mh.AsSpan(48));
            if (textAt > 0 && textSize > 0 && textAt + textSize <= mdas[m].Size)
                Regions.Add(new MetadataRegion($"lvm mda {m} metadata text", mda + textAt, (int)textSize, oneCopy));
        }
        Pvs.Add(new Pv(start, id, s, pvSize, mdas));
    }
}
