using System.Buffers.Binary;
using System.Text;
using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// The metadata of the files of an intact VMDK chain, found by walking them: hosted sparse and streamOptimized
/// headers, embedded and text descriptors (line by line), grain directories (and the redundant one), grain tables
/// and their entries, the stream's grain markers and footer; for COWD and SEsparse the layout their writer reports.
/// Each region says which virtual bytes of the disk it maps.
/// </summary>
public static class VmdkStructures
{
    private const uint SparseMagic = 0x564D444B; // "KDMV"
    private const ulong GdAtEnd = ulong.MaxValue;
    private const int MaxGrainTables = 6, MaxEntriesPerTable = 6;

    /// <summary>A text descriptor: each line, and the lines a chain depends on by name.</summary>
    public static List<MetadataRegion> Descriptor(string image, long offset, byte[] text)
    {
        var regions = new List<MetadataRegion>();
        int start = 0;
        for (int i = 0; i <= text.Length && regions.Count < 40; i++)
        {
            if (i < text.Length && text[i] != '\n') continue;
            if (i - start > 1 && text[start] != 0) regions.Add(new($"descriptor line {Encoding.ASCII.GetString(text, start, Math.Min(i - start, 24)).Trim()}", offset + start, i - start, LineTouch(text, start)));
            start = i + 1;
            if (start < text.Length && text[start] == 0) break;
        }
        return regions;
    }

    /// <summary>The DDB lines are not read for data; everything else (CID, createType, extents, parent) may change every byte.</summary>
    private static Touch LineTouch(byte[] text, int start) => text.AsSpan(start).StartsWith("ddb."u8) || text[start] == '#' ? Touch.Nothing : Touch.All;

    /// <summary>Hosted sparse or streamOptimized extent at virtual byte <paramref name="start"/>.</summary>
    public static List<MetadataRegion> Sparse(IReadAt file, long start)
    {
        var regions = new List<MetadataRegion>();
        var h = Mutations.Read(file, 0, 512);
        if (BinaryPrimitives.ReadUInt32LittleEndian(h) != SparseMagic) return regions;
        regions.Add(new("sparse header", 0, 512, Touch.All));
        long grainBytes = (long)BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(20)) * 512;
        long descOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(28)) * 512;
        long descSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(36)) * 512;
        int perTable = (int)BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(44));
        ulong rgd = BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(48)), gd = BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(56));
        long capacity = (long)BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(12)) * 512;
        bool stream = gd == GdAtEnd;
        if (descOffset > 0 && descSize > 0) regions.AddRange(Descriptor("", descOffset, Mutations.Read(file, descOffset, (int)Math.Min(descSize, 4096))));
        if (stream)
        {
            // the footer (a copy of the header whose gdOffset is real) sits before the end-of-stream marker
            long footer = file.Length - 1024;
            regions.Add(new("stream footer marker", footer - 512, 16, Touch.All));
            regions.Add(new("stream footer", footer, 512, Touch.All));
            regions.Add(new("end-of-stream marker", file.Length - 512, 16, Touch.All));
            gd = BinaryPrimitives.ReadUInt64LittleEndian(Mutations.Read(file, footer + 56, 8));
            rgd = 0;
        }
        long tables = (capacity + grainBytes * perTable - 1) / (grainBytes * perTable);
        regions.Add(new(stream ? "stream grain directory" : "grain directory", (long)gd * 512, (int)Math.Min(tables * 4, 4096), Touch.All));
        if (stream) regions.Add(new("grain directory marker", (long)gd * 512 - 512, 16, Touch.All));
        if (rgd != 0) regions.Add(new("redundant grain directory", (long)rgd * 512, (int)Math.Min(tables * 4, 4096), Touch.Nothing));
        var dir = Mutations.Read(file, (long)gd * 512, (int)(tables * 4));
        int picked = 0;
        for (int t = 0; t < tables && picked < MaxGrainTables; t++)
        {
            uint gt = BinaryPrimitives.ReadUInt32LittleEndian(dir.AsSpan(t * 4));
            if (gt == 0) continue;
            picked++;
            long covers = start + t * perTable * grainBytes;
            regions.Add(new($"grain table {t}", gt * 512L, perTable * 4, Touch.OfRange(covers, perTable * grainBytes)));
            if (stream) regions.Add(new($"grain table marker {t}", gt * 512L - 512, 16, Touch.OfRange(covers, perTable * grainBytes)));
            var table = Mutations.Read(file, gt * 512L, perTable * 4);
            int entries = 0;
            for (int e = 0; e < perTable && entries < MaxEntriesPerTable; e++)
            {
                uint grain = BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(e * 4));
                if (grain <= 1) continue;
                entries++;
                var touch = Touch.OfRange(covers + e * grainBytes, grainBytes);
                regions.Add(new($"grain table {t} entry", gt * 512L + e * 4, 4, touch));
                if (stream) regions.Add(new("grain marker", grain * 512L, 12, touch));
            }
        }
        return regions;
    }

    /// <summary>Two grain-directory entries naming one grain table, and two grain-table entries naming one grain.</summary>
    public static IEnumerable<CorruptionCase> SharedTables(string image, string path, IReadAt file, long start)
    {
        var h = Mutations.Read(file, 0, 512);
        if (BinaryPrimitives.ReadUInt32LittleEndian(h) != SparseMagic) yield break;
        long grainBytes = (long)BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(20)) * 512;
        int perTable = (int)BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(44));
        ulong gd = BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(56));
        if (gd == GdAtEnd) gd = BinaryPrimitives.ReadUInt64LittleEndian(Mutations.Read(file, file.Length - 1024 + 56, 8));
        long capacity = (long)BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(12)) * 512;
        long tables = (capacity + grainBytes * perTable - 1) / (grainBytes * perTable);
        var dir = Mutations.Read(file, (long)gd * 512, (int)(tables * 4));
        var used = Enumerable.Range(0, (int)tables).Where(t => BinaryPrimitives.ReadUInt32LittleEndian(dir.AsSpan(t * 4)) != 0).ToList();
        if (used.Count == 0) yield break;
        int first = used[0], other = used.Count > 1 ? used[1] : (first + 1) % (int)tables;
        yield return new CorruptionCase(image, $"grain directory entry {other}", $"shares grain table {first}",
            [new Patch((long)gd * 512 + other * 4, dir[(first * 4)..(first * 4 + 4)])], null,
            Touch.OfRange(start + other * perTable * grainBytes, perTable * grainBytes)) { File = path };
        uint gt = BinaryPrimitives.ReadUInt32LittleEndian(dir.AsSpan(first * 4));
        var table = Mutations.Read(file, gt * 512L, perTable * 4);
        var grains = Enumerable.Range(0, perTable).Where(e => BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(e * 4)) > 1).Take(2).ToList();
        if (grains.Count == 2)
            yield return new CorruptionCase(image, $"grain table {first} entry {grains[1]}", $"shares the grain of entry {grains[0]}",
                [new Patch(gt * 512L + grains[1] * 4, table[(grains[0] * 4)..(grains[0] * 4 + 4)])], null,
                Touch.OfRange(start + (first * perTable + grains[1]) * grainBytes, grainBytes)) { File = path };
        yield return new CorruptionCase(image, $"grain table {first} entry {grains.FirstOrDefault()}", "points at the grain directory",
            [new Patch(gt * 512L + grains.FirstOrDefault() * 4, Mutations.Le32((uint)gd))], null,
            Touch.OfRange(start + (first * perTable + grains.FirstOrDefault()) * grainBytes, grainBytes)) { File = path };
        yield return new CorruptionCase(image, $"grain directory entry {first}", "points into the header",
            [new Patch((long)gd * 512 + first * 4, Mutations.Le32(1))], null,
            Touch.OfRange(start + first * perTable * grainBytes, perTable * grainBytes)) { File = path };
    }

    /// <summary>
    /// A child whose parent is itself: its descriptor's parentFileNameHint made its own name and parentCID its CID,
    /// the replacement padded to the same length so nothing else moves.
    /// </summary>
    public static CorruptionCase? ParentIsItself(string image, string path, IReadAt file)
    {
        var head = Mutations.Read(file, 0, (int)Math.Min(file.Length, 64 * 1024));
        string text = Encoding.Latin1.GetString(head);
        int hint = text.IndexOf("parentFileNameHint=\"", StringComparison.Ordinal);
        int cid = text.IndexOf("\nCID=", StringComparison.Ordinal), parentCid = text.IndexOf("parentCID=", StringComparison.Ordinal);
        if (hint < 0 || cid < 0 || parentCid < 0) return null;
        int valueAt = hint + "parentFileNameHint=\"".Length, end = text.IndexOf('"', valueAt);
        string self = Path.GetFileName(path);
        if (self.Length > end - valueAt) return null;
        string replaced = self + "\"" + new string(' ', end - valueAt - self.Length);
        string ownCid = text.Substring(cid + 5, 8);
        return new CorruptionCase(image, "descriptor parentFileNameHint", "parent is itself",
            [new Patch(valueAt, Encoding.Latin1.GetBytes(replaced)), new Patch(parentCid + "parentCID=".Length, Encoding.Latin1.GetBytes(ownCid))], null, Touch.All) { File = path };
    }
}
