using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// The cases of one disk beyond the sampled flips, fields and wipes: cuts at every structure boundary, GPT header and
/// entry fields overwritten with boundary values and their CRCs made right (so the damage reaches the parser), EBR
/// loops and cross-links, overlapping entries, and LVM2 metadata text edited with its CRCs made right (numbers at
/// their limits, a segment past the PV's end, nesting and lengths far past anything LVM writes).
/// </summary>
public static partial class VolumeCases
{
    /// <param name="volumes">The intact scan's volumes (id, byte offset, size): what a cut at a byte may change.</param>
    public static IEnumerable<CorruptionCase> Generate(string image, IReadAt disk, VolumeStructures s, IReadOnlyList<Volume> volumes)
    {
        var cases = CorpusSampler.Cases(image, disk, s.Regions, bigEndian: false, perKind: 8, mutationsPerRegion: 4, cutsPerKind: 0);
        cases.AddRange(Cuts(image, disk, s, volumes));
        if (s.Table is { } gpt) cases.AddRange(GptFields(image, disk, gpt, s.SectorSize));
        if (s.EbrLbas.Count > 0) cases.AddRange(EbrLinks(image, disk, s));
        cases.AddRange(MbrCrossLink(image, disk, s));
        foreach (var pv in s.Pvs.Take(1)) cases.AddRange(LvmText(image, disk, pv, volumes));
        return cases.Where(c => c.Patches.Count > 0 || c.TruncateTo is not null);
    }

    /// <summary>The disk cut at the start and in the middle of every structure kind's first few: any volume reaching past the cut may change.</summary>
    private static IEnumerable<CorruptionCase> Cuts(string image, IReadAt disk, VolumeStructures s, IReadOnlyList<Volume> volumes)
    {
        var lvs = volumes.Where(v => v.Scheme == "lvm").Select(v => v.Id).ToList();
        foreach (var kind in s.Regions.GroupBy(r => CorpusSampler.KindOf(r.Structure)))
            foreach (var r in kind.Take(3))
                foreach (long at in new[] { r.Offset, r.Offset + r.Length / 2 }.Distinct())
                {
                    if (at >= disk.Length) continue;
                    var past = volumes.Where(v => v.Scheme != "lvm" && v.Offset + v.Size > at).Select(v => v.Id).ToList();
                    if (s.Pvs.Any(p => p.Start + p.PvSize > at)) past.AddRange(lvs);
                    yield return new CorruptionCase(image, r.Structure, $"cut at byte {at}", [], at, Touch.OfPaths(past));
                }
    }

    private static ulong[] Boundary(ulong old, ulong lastLba, Random rnd) =>
        [0, 1, 2, ulong.MaxValue, 1UL << 63, old + 1, old - 1, old * 2, lastLba, lastLba + 1, (ulong)rnd.NextInt64(1, 1L << 40)];

    private static byte[] Put(byte[] bytes, int at, int width, ulong value)
    {
        var b = (byte[])bytes.Clone();
        if (width == 4) BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), (uint)value);
        else BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), value);
        return b;
    }

    private static byte[] WithHeaderCrc(byte[] header)
    {
        var h = (byte[])header.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), Crc32.Ieee(h.AsSpan(0, 92)));
        return h;
    }

    private static readonly (string Name, int At, int Width)[] HeaderFields =
    [
        ("revision", 8, 4), ("header size", 12, 4), ("reserved", 20, 4), ("my LBA", 24, 8), ("alternate LBA", 32, 8),
        ("first usable LBA", 40, 8), ("last usable LBA", 48, 8), ("entry array LBA", 72, 8), ("entry count", 80, 4),
        ("entry size", 84, 4), ("entry array CRC", 88, 4),
    ];

    /// <summary>Header fields at their limits with the header CRC made right; entry fields with both CRCs made right; the array over a header.</summary>
    private static IEnumerable<CorruptionCase> GptFields(string image, IReadAt disk, VolumeStructures.Gpt gpt, int ss)
    {
        ulong lastLba = (ulong)(disk.Length / ss - 1);
        foreach (var (copy, lba, perField) in new[] { ("primary", gpt.HeaderLba, 3), ("backup", gpt.BackupLba, 1) })
        {
            var header = Mutations.Read(disk, lba * ss, 92);
            long at = lba * ss;
            foreach (var (name, field, width) in HeaderFields)
            {
                var rnd = new Random(Mutations.Seed($"{image}|gpt {copy} {name}"));
                ulong old = width == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(field)) : BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(field));
                var values = Boundary(old, lastLba, rnd).Where(v => v != old).OrderBy(_ => rnd.Next()).Take(perField);
                foreach (ulong v in values)
                    yield return new CorruptionCase(image, $"gpt {copy} header {name}", $"{name} := 0x{v:x}, CRC made right",
                        [new Patch(at, WithHeaderCrc(Put(header, field, width, v)))], null, copy == "primary" ? Touch.All : Touch.Nothing);
            }
            var guid = (byte[])header.Clone();
            guid[60] ^= 0x40;
            yield return new CorruptionCase(image, $"gpt {copy} header disk GUID", "one bit of the disk GUID, CRC made right",
                [new Patch(at, WithHeaderCrc(guid))], null, Touch.Nothing);
        }
        var primary = Mutations.Read(disk, ss, 92);
        foreach (var (what, lba) in new[] { ("the primary header", 1L), ("the backup header", gpt.BackupLba), ("sector 0", 0L) })
            yield return new CorruptionCase(image, "gpt primary header entry array LBA", $"entry array over {what}, CRC made right",
                [new Patch(ss, WithHeaderCrc(Put(primary, 72, 8, (ulong)lba)))], null, Touch.All);

        // entries: each field of a few used entries, both CRCs made right; only that partition may change
        int arrayBytes = gpt.Count * gpt.EntrySize;
        var array = Mutations.Read(disk, gpt.EntriesLba * ss, arrayBytes);
        IEnumerable<Patch> Entry(int i, byte[] entry)
        {
            var a = (byte[])array.Clone();
            entry.CopyTo(a, i * gpt.EntrySize);
            var h = Put(primary, 88, 4, Crc32.Ieee(a));
            return [new Patch(gpt.EntriesLba * ss + (long)i * gpt.EntrySize, entry), new Patch(ss, WithHeaderCrc(h))];
        }
        var picks = gpt.Used.Where((_, k) => k % 3 == 0).ToList();
        foreach (int i in picks)
        {
            var entry = array.AsSpan(i * gpt.EntrySize, gpt.EntrySize).ToArray();
            var touch = Touch.OfPaths(["p" + (i + 1)]);
            var rnd = new Random(Mutations.Seed($"{image}|gpt entry {i}"));
            ulong first = BinaryPrimitives.ReadUInt64LittleEndian(entry.AsSpan(32)), last = BinaryPrimitives.ReadUInt64LittleEndian(entry.AsSpan(40));
            foreach (var (name, field) in new[] { ("first LBA", 32), ("last LBA", 40), ("attributes", 48) })
            {
                ulong old = BinaryPrimitives.ReadUInt64LittleEndian(entry.AsSpan(field));
                foreach (ulong v in Boundary(old, lastLba, rnd).Where(v => v != old).OrderBy(_ => rnd.Next()).Take(3))
                    yield return new CorruptionCase(image, $"gpt primary entry {i} {name}", $"{name} := 0x{v:x}, CRCs made right", [.. Entry(i, Put(entry, field, 8, v))], null, touch);
            }
            var noType = (byte[])entry.Clone();
            Array.Clear(noType, 0, 16);
            yield return new CorruptionCase(image, $"gpt primary entry {i} type", "type GUID zero (unused), CRCs made right", [.. Entry(i, noType)], null, touch);
            var name0 = (byte[])entry.Clone();
            name0.AsSpan(56, 72).Fill(0xFF);
            yield return new CorruptionCase(image, $"gpt primary entry {i} name", "name all 0xFFFF (unpaired UTF-16), CRCs made right", [.. Entry(i, name0)], null, touch);
            var whole = Put(Put(entry, 32, 8, 0), 40, 8, lastLba);
            yield return new CorruptionCase(image, $"gpt primary entry {i} range", "covers the whole disk, tables included, CRCs made right", [.. Entry(i, whole)], null, touch);
            var backwards = Put(Put(entry, 32, 8, last), 40, 8, first);
            yield return new CorruptionCase(image, $"gpt primary entry {i} range", "first and last LBA swapped, CRCs made right", [.. Entry(i, backwards)], null, touch);
            int other = gpt.Used.FirstOrDefault(j => j != i, -1);
            if (other >= 0)
            {
                var cross = (byte[])entry.Clone();
                array.AsSpan(other * gpt.EntrySize + 32, 16).CopyTo(cross.AsSpan(32));
                yield return new CorruptionCase(image, $"gpt primary entry {i} range", $"cross-linked: the sectors of entry {other}, CRCs made right", [.. Entry(i, cross)], null, touch);
            }
        }
        // an unused slot made a partition over the primary header and entries
        int free = Enumerable.Range(0, gpt.Count).FirstOrDefault(j => !gpt.Used.Contains(j), -1);
        if (free >= 0)
        {
            var e = array.AsSpan(gpt.Used[0] * gpt.EntrySize, gpt.EntrySize).ToArray();
            e[16] ^= 1;
            yield return new CorruptionCase(image, $"gpt primary entry {free} (unused)", "made a partition over the GPT's own sectors (LBA 0..33), CRCs made right",
                [.. Entry(free, Put(Put(e, 32, 8, 0), 40, 8, 33))], null, Touch.Nothing);
        }
    }

    private static void WriteEntry(byte[] sector, int at, byte type, uint start, uint count)
    {
        sector[at + 4] = type;
        BinaryPrimitives.WriteUInt32LittleEndian(sector.AsSpan(at + 8), start);
        BinaryPrimitives.WriteUInt32LittleEndian(sector.AsSpan(at + 12), count);
    }

    /// <summary>Links to itself, back to the first EBR or the one before, a chain ended early, two logicals on the same sectors, a logical past the container.</summary>
    private static IEnumerable<CorruptionCase> EbrLinks(string image, IReadAt disk, VolumeStructures s)
    {
        var ebrs = s.EbrLbas;
        int ss = s.SectorSize;
        var after = (int k) => Touch.OfPaths(s.Logicals.Skip(k + 1));
        CorruptionCase Link(int k, string how, uint relative, Touch touch, byte type = 0x05)
        {
            var sector = Mutations.Read(disk, ebrs[k] * ss, VolumeStructures.Sector);
            var link = sector.AsSpan(462, 16).ToArray();
            link[4] = type;
            BinaryPrimitives.WriteUInt32LittleEndian(link.AsSpan(8), relative);
            return new CorruptionCase(image, $"ebr {k} link", how, [new Patch(ebrs[k] * ss + 462, link)], null, touch);
        }
        uint Rel(int k) => (uint)(ebrs[k] - s.ExtendedStart);
        int lastK = ebrs.Count - 1;
        for (int k = 0; k < ebrs.Count; k++)
        {
            yield return Link(k, "loop: links to itself", Rel(k), after(k));
            if (k > 0) yield return Link(k, $"loop: links back to EBR {k - 1}", Rel(k - 1), after(k));
            if (k < lastK) yield return Link(k, "chain ended early (link type 0)", 0, after(k), type: 0);
        }
        // the last EBR linking back to the first: every logical must show once, as before
        yield return Link(lastK, "loop: the last EBR links to the first", 1, after(lastK));
        yield return Link(lastK, "loop: the last EBR links to the first (relative 0)", 0, after(lastK));
        if (ebrs.Count >= 2)
        {
            // cross-link: logical 1 described as lying on logical 0's sectors
            var s0 = Mutations.Read(disk, ebrs[0] * ss, VolumeStructures.Sector);
            long abs0 = ebrs[0] + BinaryPrimitives.ReadUInt32LittleEndian(s0.AsSpan(446 + 8));
            uint count0 = BinaryPrimitives.ReadUInt32LittleEndian(s0.AsSpan(446 + 12));
            var s1 = Mutations.Read(disk, ebrs[1] * ss, VolumeStructures.Sector);
            var e1 = s1.AsSpan(446, 16).ToArray();
            var bytes = new byte[16];
            e1.CopyTo(bytes, 0);
            var tmp = new byte[512];
            WriteEntry(tmp, 446, e1[4], unchecked((uint)(abs0 - ebrs[1])), count0);
            yield return new CorruptionCase(image, "ebr 1 logical entry", "cross-linked: on the sectors of the first logical (start before its EBR, wrapping)",
                [new Patch(ebrs[1] * ss + 446, tmp.AsSpan(446, 16).ToArray())], null, Touch.OfPaths([s.Logicals[1]]));
            WriteEntry(tmp, 446, e1[4], BinaryPrimitives.ReadUInt32LittleEndian(e1.AsSpan(8)), uint.MaxValue);
            yield return new CorruptionCase(image, "ebr 1 logical entry", "logical of 2^32-1 sectors (past its container and the disk)",
                [new Patch(ebrs[1] * ss + 446, tmp.AsSpan(446, 16).ToArray())], null, Touch.OfPaths([s.Logicals[1]]));
        }
    }

    /// <summary>A primary entry made to cover another's sectors, and the extended container shrunk to one sector.</summary>
    private static IEnumerable<CorruptionCase> MbrCrossLink(string image, IReadAt disk, VolumeStructures s)
    {
        var mbr = Mutations.Read(disk, 0, VolumeStructures.Sector);
        if (mbr[510] != 0x55 || s.Table is not null) yield break;
        var used = Enumerable.Range(1, 4).Where(slot => mbr[446 + 16 * (slot - 1) + 4] != 0).ToList();
        var primaries = used.Where(slot => mbr[446 + 16 * (slot - 1) + 4] is not (0x05 or 0x0F or 0x85)).ToList();
        if (primaries.Count >= 2)
        {
            int a = primaries[0], b = primaries[1];
            var entry = mbr.AsSpan(446 + 16 * (a - 1), 16).ToArray();
            mbr.AsSpan(446 + 16 * (b - 1) + 8, 8).CopyTo(entry.AsSpan(8));
            yield return new CorruptionCase(image, $"mbr entry {a}", $"cross-linked: the sectors of entry {b}", [new Patch(446 + 16 * (a - 1), entry)], null, Touch.OfPaths(["p" + a]));
        }
        foreach (int slot in used.Where(slot => mbr[446 + 16 * (slot - 1) + 4] is 0x05 or 0x0F or 0x85))
        {
            var entry = mbr.AsSpan(446 + 16 * (slot - 1), 16).ToArray();
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(12), 1);
            yield return new CorruptionCase(image, $"mbr entry {slot}", "extended container of one sector", [new Patch(446 + 16 * (slot - 1), entry)], null, Touch.OfPaths(s.Logicals));
        }
    }

    [GeneratedRegex(@"(?<=(=|,)\s*)-?\d+")]
    private static partial Regex Number();

    [GeneratedRegex(@"pe_count = (\d+)")]
    private static partial Regex PeCount();

    [GeneratedRegex(@"""(pv\d+)"",\s*(\d+)")]
    private static partial Regex Stripe();

    [GeneratedRegex(@"extent_count = (\d+)")]
    private static partial Regex ExtentCount();

    /// <summary>The first metadata copy of a PV rewritten, its text and header CRCs made right, as a buggy writer would leave it: the PV and every LV may change.</summary>
    private static IEnumerable<CorruptionCase> LvmText(string image, IReadAt disk, VolumeStructures.Pv pv, IReadOnlyList<Volume> volumes)
    {
        if (pv.Mdas.Count == 0) yield break;
        long mda = pv.Start + pv.Mdas[0].Offset, areaSize = pv.Mdas[0].Size;
        var header = Mutations.Read(disk, mda, 512);
        long textAt = (long)BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(40));
        int textSize = (int)BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(48));
        string text = Encoding.UTF8.GetString(Mutations.Read(disk, mda + textAt, textSize)).TrimEnd('\0');
        var touch = Touch.OfPaths([pv.Id, .. volumes.Where(v => v.Scheme == "lvm").Select(v => v.Id)]);

        CorruptionCase? Rewrite(string how, string edited, bool terminate = true)
        {
            if (edited == text && terminate) return null;
            var bytes = Encoding.UTF8.GetBytes(edited + (terminate ? "\0" : ""));
            // the new text goes at the start of the circular buffer when it does not fit where the old one is
            long at = textAt + bytes.Length <= areaSize ? textAt : 512;
            if (at + bytes.Length > areaSize) bytes = bytes[..(int)(areaSize - at)];
            var h = (byte[])header.Clone();
            BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(40), (ulong)at);
            BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(48), (ulong)bytes.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(56), Crc32.Lvm(bytes));
            BinaryPrimitives.WriteUInt32LittleEndian(h, Crc32.Lvm(h.AsSpan(4)));
            return new CorruptionCase(image, "lvm mda 0 metadata text", how + ", CRCs made right", [new Patch(mda + at, bytes), new Patch(mda, h)], null, touch);
        }

        var rnd = new Random(Mutations.Seed(image + "|lvm text"));
        var numbers = Number().Matches(text).ToList();
        string[] limits = ["0", "-1", "1", "4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551615", "99999999999999999999999", "-9223372036854775808"];
        for (int k = 0; k < 14 && numbers.Count > 0; k++)
        {
            var m = numbers[rnd.Next(numbers.Count)];
            string value = limits[rnd.Next(limits.Length)];
            string line = text[..m.Index].Split('\n')[^1].Trim();
            if (Rewrite($"'{line}{m.Value}' := {value}", text[..m.Index] + value + text[(m.Index + m.Length)..]) is { } c) yield return c;
        }
        long peCount = PeCount().Match(text) is { Success: true } pc ? long.Parse(pc.Groups[1].Value) : 0;
        var stripe = Stripe().Match(text);
        var specials = new List<(string How, string Text)>();
        if (stripe.Success)
        {
            specials.Add(("a segment past the PV end (its first extent the PV's last)",
                text[..stripe.Groups[2].Index] + (peCount - 1) + text[(stripe.Groups[2].Index + stripe.Groups[2].Length)..]));
            specials.Add(("a segment starting past the PV's extents",
                text[..stripe.Groups[2].Index] + (peCount + 5) + text[(stripe.Groups[2].Index + stripe.Groups[2].Length)..]));
            specials.Add(("a 60,000-element stripes list", text[..stripe.Index] + string.Concat(Enumerable.Repeat($"\"{stripe.Groups[1].Value}\", 0,\n", 60_000)) + text[stripe.Index..]));
        }
        var extents = ExtentCount().Match(text);
        if (extents.Success)
            specials.Add(("a segment of the PV's extent count x1000", text[..extents.Groups[1].Index] + peCount * 1000 + text[(extents.Groups[1].Index + extents.Groups[1].Length)..]));
        int lvs = text.IndexOf("logical_volumes {", StringComparison.Ordinal);
        int open = lvs < 0 ? text.IndexOf('{') : lvs;
        specials.Add(("nested 100,000 sections deep", text[..open] + string.Concat(Enumerable.Repeat("n {\n", 100_000)) + string.Concat(Enumerable.Repeat("}\n", 100_000)) + text[open..]));
        specials.Add(("opened 100,000 sections deep, never closed", text + string.Concat(Enumerable.Repeat("n {", 100_000))));
        specials.Add(("a 600 KiB string value", text[..open] + "description = \"" + new string('A', 600 * 1024) + "\"\n" + text[open..]));
        specials.Add(("a 300 KiB number", text[..open] + "creation_time = " + new string('9', 300 * 1024) + "\n" + text[open..]));
        specials.Add(("an unterminated string", text[..open] + "description = \"" + text[open..]));
        specials.Add(("cut in half", text[..(text.Length / 2)]));
        specials.Add(("empty", ""));
        specials.Add(("every closing brace gone", text.Replace("}", "")));
        specials.Add(("a NUL in the middle", text[..(text.Length / 2)] + "\0" + text[(text.Length / 2)..]));
        specials.Add(("extent_size = 0", Regex.Replace(text, @"extent_size = \d+", "extent_size = 0")));
        specials.Add(("extent_size = 2^62", Regex.Replace(text, @"extent_size = \d+", "extent_size = 4611686018427387904")));
        specials.Add(("pe_start past the PV", Regex.Replace(text, @"pe_start = \d+", "pe_start = 4611686018427387904")));
        specials.Add(("stripe_count = 0", text.Replace("stripe_count = 1", "stripe_count = 0")));
        specials.Add(("stripe_count = 100000 with one stripe listed", text.Replace("stripe_count = 1", "stripe_count = 100000")));
        specials.Add(("segment_count = 2^31", Regex.Replace(text, @"segment_count = \d+", "segment_count = 2147483648")));
        specials.Add(("stripe_size = 0", text.Replace("stripe_count = 2", "stripe_count = 2\nstripe_size = 0")));
        specials.Add(("segments overlapping (every start_extent 0)", Regex.Replace(text, @"start_extent = \d+", "start_extent = 0")));
        if (lvs >= 0)
        {
            int body = lvs + "logical_volumes {".Length;
            int end = FirstSectionEnd(text, body);
            if (end > body) specials.Add(("two LVs of the same name", text[..body] + text[body..end] + text[body..]));
        }
        foreach (var (how, edited) in specials)
            if (Rewrite(how, edited) is { } c) yield return c;
        if (Rewrite("not NUL-terminated", text, terminate: false) is { } t) yield return t;
    }

    /// <summary>The end (exclusive) of the first `name { ... }` section after <paramref name="from"/>, bounded by the text.</summary>
    private static int FirstSectionEnd(string text, int from)
    {
        int depth = 0;
        for (int i = from; i < text.Length; i++)
        {
            if (text[i] == '{') depth++;
            else if (text[i] == '}' && --depth == 0) return i + 2 <= text.Length ? i + 2 : i + 1;
        }
        return -1;
    }
}
