using System.Buffers.Binary;
using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// The metadata of an intact NTFS image, found by walking it (boot sector, $MFT's runlist, MFT records, their
/// attribute headers and runlists, directories' index records), independently of our reader; and the cross-link and
/// loop cases made from them.
/// </summary>
public sealed class NtfsStructures
{
    private const uint EndMarker = 0xFFFFFFFF, DataType = 0x80, IndexRootType = 0x90, IndexAllocationType = 0xA0;
    private const int FirstUserRecord = 16, MaxAttributes = 32, MaxIndexRecords = 4, MaxRuns = 64;

    private readonly IReadAt _img;
    private readonly IntactTree _tree;
    private readonly long _cluster;
    private readonly int _recordSize, _indexSize;
    private readonly List<(long Vcn, long Lcn, long Length)> _mftRuns;

    public NtfsStructures(IReadAt img, IntactTree tree)
    {
        _img = img;
        _tree = tree;
        var boot = Mutations.Read(img, 0, 512);
        int bps = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(0x0B));
        int spc = boot[0x0D] > 0x80 ? 1 << (256 - boot[0x0D]) : boot[0x0D];
        _cluster = (long)bps * spc;
        int cpr = (sbyte)boot[0x40], cpi = (sbyte)boot[0x44];
        _recordSize = cpr > 0 ? (int)(cpr * _cluster) : 1 << -cpr;
        _indexSize = cpi > 0 ? (int)(cpi * _cluster) : 1 << -cpi;
        long mftStart = BinaryPrimitives.ReadInt64LittleEndian(boot.AsSpan(0x30)) * _cluster;
        _mftRuns = [(0, mftStart / _cluster, 1)];
        var mft = Record(0);
        _mftRuns = Attributes(mft).Where(a => a.Type == DataType && a.NonResident).Select(a => Runs(mft, a.Offset)).FirstOrDefault() ?? _mftRuns;
    }

    public long RecordOffset(long number)
    {
        long vcn = number * _recordSize / _cluster;
        foreach (var (v, l, n) in _mftRuns)
            if (vcn >= v && vcn < v + n) return (l + vcn - v) * _cluster + number * _recordSize % _cluster;
        return -1;
    }

    /// <summary>A record with its update sequence applied, as NTFS reads it.</summary>
    private byte[] Record(long number)
    {
        var r = Mutations.Read(_img, RecordOffset(number), _recordSize);
        int usa = BinaryPrimitives.ReadUInt16LittleEndian(r.AsSpan(4)), count = BinaryPrimitives.ReadUInt16LittleEndian(r.AsSpan(6));
        for (int i = 1; i < count && i * 512 <= r.Length && usa + 2 * i + 2 <= r.Length; i++) r.AsSpan(usa + 2 * i, 2).CopyTo(r.AsSpan(i * 512 - 2));
        return r;
    }

    private readonly record struct Attr(uint Type, int Offset, int Length, bool NonResident);

    private static List<Attr> Attributes(byte[] record)
    {
        var list = new List<Attr>();
        int at = BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(0x14));
        while (list.Count < MaxAttributes && at + 16 <= record.Length)
        {
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(at));
            int length = BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(at + 4));
            if (type == EndMarker || length < 16 || at + length > record.Length) break;
            list.Add(new Attr(type, at, length, record[at + 8] != 0));
            at += length;
        }
        return list;
    }

    /// <summary>The runs of a non-resident attribute (VCN, LCN, clusters), sparse runs left out.</summary>
    private static List<(long Vcn, long Lcn, long Length)> Runs(byte[] record, int attr)
    {
        var runs = new List<(long, long, long)>();
        int at = attr + BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(attr + 0x20));
        long vcn = 0, lcn = 0;
        while (runs.Count < MaxRuns && at < record.Length && record[at] != 0)
        {
            int lenBytes = record[at] & 0xF, offBytes = record[at] >> 4;
            if (at + 1 + lenBytes + offBytes > record.Length) break;
            long length = 0, delta = 0;
            for (int i = lenBytes - 1; i >= 0; i--) length = length << 8 | record[at + 1 + i];
            for (int i = offBytes - 1; i >= 0; i--) delta = delta << 8 | record[at + 1 + lenBytes + i];
            if (offBytes > 0 && (record[at + lenBytes + offBytes] & 0x80) != 0) delta -= 1L << (8 * offBytes);
            if (offBytes > 0)
            {
                lcn += delta;
                runs.Add((vcn, lcn, length));
            }
            vcn += length;
            at += 1 + lenBytes + offBytes;
        }
        return runs;
    }

    private Touch TouchOf(long number) => Touch.OfPaths(_tree.PathsById.Where(g => (g.Key & 0xFFFF_FFFF_FFFF) == number).SelectMany(g => g));

    public List<MetadataRegion> Regions()
    {
        var regions = new List<MetadataRegion> { new("boot sector", 0, 512, Touch.All) };
        var numbers = Enumerable.Range(0, FirstUserRecord).Select(n => (long)n)
            .Concat(_tree.PathsById.Select(g => g.Key & 0xFFFF_FFFF_FFFF)).Distinct();
        foreach (long n in numbers)
        {
            long at = RecordOffset(n);
            if (at < 0) continue;
            // the system records (the $MFT itself, $UpCase, the root, ...) change what every file reads
            var touch = n < FirstUserRecord ? Touch.All : TouchOf(n);
            var record = Record(n);
            regions.Add(new($"MFT record {n} header", at, 0x38, touch));
            foreach (var a in Attributes(record))
            {
                regions.Add(new($"attribute 0x{a.Type:x} header in MFT record {n}", at + a.Offset, Math.Min(a.Length, a.NonResident ? 0x40 : 0x18), touch));
                if (!a.NonResident)
                {
                    if (a.Type == IndexRootType) regions.Add(new($"index root in MFT record {n}", at + a.Offset + 0x18, a.Length - 0x18, touch));
                    continue;
                }
                int runlist = BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(a.Offset + 0x20));
                regions.Add(new($"runlist of attribute 0x{a.Type:x} in MFT record {n}", at + a.Offset + runlist, a.Length - runlist, touch));
                if (a.Type != IndexAllocationType) continue;
                int seen = 0;
                foreach (var (_, lcn, length) in Runs(record, a.Offset))
                    for (long b = 0; b < length * _cluster / _indexSize && seen < MaxIndexRecords; b++, seen++)
                        regions.Add(new($"index record of MFT record {n}", lcn * _cluster + b * _indexSize, _indexSize, touch));
            }
        }
        return regions;
    }

    /// <summary>
    /// A file whose $DATA runlist is another file's (two files on the same clusters), and a subdirectory whose first
    /// index entry points at the root or at itself (a directory that contains its ancestor).
    /// </summary>
    public IEnumerable<CorruptionCase> CrossLinksAndLoops(string image)
    {
        var nonResident = new List<(IntactEntry File, long At, int Runlist, byte[] Bytes)>();
        foreach (var f in _tree.Entries.Where(e => e.Type == Core.FileSystems.FsNodeType.File && e.Size > 4096).OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            long n = f.Id & 0xFFFF_FFFF_FFFF;
            var record = Record(n);
            foreach (var a in Attributes(record).Where(a => a.Type == DataType && a.NonResident && record[a.Offset + 9] == 0))
            {
                int runlist = a.Offset + BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(a.Offset + 0x20));
                nonResident.Add((f, RecordOffset(n) + runlist, a.Offset + a.Length - runlist, record.AsSpan(runlist, a.Offset + a.Length - runlist).ToArray()));
                break;
            }
            if (nonResident.Count == 2) break;
        }
        if (nonResident.Count == 2 && nonResident[0].Bytes.Length <= nonResident[1].Runlist)
        {
            var (a, b) = (nonResident[0], nonResident[1]);
            yield return new CorruptionCase(image, $"runlist of $DATA in MFT record {b.File.Id & 0xFFFF_FFFF_FFFF}", $"cross-linked to {a.File.Path}",
                [new Patch(b.At, a.Bytes)], null, TouchOf(b.File.Id & 0xFFFF_FFFF_FFFF));
        }
        foreach (var sub in _tree.Entries.Where(e => e.Type == Core.FileSystems.FsNodeType.Directory && e.Path != "/").OrderBy(e => e.Path, StringComparer.Ordinal).Take(3))
        {
            long n = sub.Id & 0xFFFF_FFFF_FFFF;
            var record = Record(n);
            var root = Attributes(record).FirstOrDefault(a => a.Type == IndexRootType);
            if (root.Length == 0) continue;
            int value = root.Offset + BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(root.Offset + 0x14));
            int entry = value + 0x10 + BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(value + 0x10));
            if (entry + 16 > record.Length || (BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(entry + 12)) & 2) != 0) continue;
            // an update-sequence slot may sit inside the reference: only entries clear of a sector end are patched
            if ((entry % 512) > 512 - 10) continue;
            long at = RecordOffset(n) + entry;
            yield return new CorruptionCase(image, $"index root in MFT record {n}", "entry points at the root (a loop)",
                [new Patch(at, Mutations.Le64(5UL | 5UL << 48))], null, TouchOf(n));
            yield return new CorruptionCase(image, $"index root in MFT record {n}", "entry points at its own directory (a loop)",
                [new Patch(at, Mutations.Le64((ulong)n | (ulong)BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(0x10)) << 48))], null, TouchOf(n));
        }
    }
}
