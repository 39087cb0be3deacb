using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace VmdkMount.Tests.Vmdk;

/// <summary>
/// A test-only writer of hosted sparse (KDMV) files, for what qemu-img cannot create or cannot create quickly:
/// VMware-layout streamOptimized files (GD_AT_END, GT/GD markers, footer, EOS), tiny sparse children for chains of
/// thousands of links, and files to corrupt on purpose. Every layout it writes is proven by qemu-img reading it.
/// </summary>
internal static class VmdkTestWriter
{
    public const uint KdmvMagic = 0x564D444B;

    /// <summary>Header field offsets (digest 2.1), so tests can corrupt named fields.</summary>
    public static class Off
    {
        public const int Version = 0x04, Flags = 0x08, Capacity = 0x0C, GrainSize = 0x14, DescriptorOffset = 0x1C,
            DescriptorSize = 0x24, GtesPerGt = 0x2C, RgdOffset = 0x30, GdOffset = 0x38, OverHead = 0x40,
            Unclean = 0x48, Newline = 0x49, Compress = 0x4D;
    }

    public static string Descriptor(uint cid, uint parentCid, string? parentHint, long capacitySectors, string extentName,
        string createType = "monolithicSparse", string access = "RW")
    {
        var sb = new StringBuilder();
        sb.Append("# Disk DescriptorFile\nversion=1\n");
        sb.Append($"CID={cid:x8}\nparentCID={parentCid:x8}\ncreateType=\"{createType}\"\n");
        if (parentHint is not null) sb.Append($"parentFileNameHint=\"{parentHint}\"\n");
        sb.Append($"\n# Extent description\n{access} {capacitySectors} SPARSE \"{extentName}\"\n\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\n");
        return sb.ToString();
    }

    /// <summary>
    /// Writes a monolithic hosted sparse file. <paramref name="grains"/>: grain index -> data (grainBytes long),
    /// or null for a zeroed-grain entry (GTE 1; sets flag bit 2 and version 2).
    /// </summary>
    public static void WriteHosted(string path, long capacitySectors, int grainSectors, IReadOnlyDictionary<long, byte[]?> grains,
        string? descriptor, int gtesPerGt = 512)
    {
        long grainBytes = grainSectors * 512L;
        long gtCoverage = (long)gtesPerGt * grainSectors;
        long numGdes = (capacitySectors + gtCoverage - 1) / gtCoverage;
        byte[] desc = descriptor is null ? [] : Encoding.UTF8.GetBytes(descriptor);
        long descSectors = descriptor is null ? 0 : Math.Max(1, (desc.Length + 511) / 512);
        long gdSector = 1 + descSectors;
        long gdSectors = (numGdes * 4 + 511) / 512;
        long gtSectors = (gtesPerGt * 4L + 511) / 512;
        var tables = grains.Keys.Select(g => g / gtesPerGt).Distinct().Order().ToList();
        var gtSectorOf = new Dictionary<long, long>();
        long next = gdSector + gdSectors;
        foreach (var t in tables) { gtSectorOf[t] = next; next += gtSectors; }
        long overHead = next;
        bool zeroed = grains.Values.Any(v => v is null);

        using var f = new FileStream(path, FileMode.Create, FileAccess.Write);
        var header = new byte[512];
        BinaryPrimitives.WriteUInt32LittleEndian(header, KdmvMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(Off.Version), zeroed ? 2u : 1u);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(Off.Flags), zeroed ? 0x5u : 0x1u);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(Off.Capacity), (ulong)capacitySectors);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(Off.GrainSize), (ulong)grainSectors);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(Off.DescriptorOffset), descSectors == 0 ? 0 : 1UL);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(Off.DescriptorSize), (ulong)descSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(Off.GtesPerGt), (uint)gtesPerGt);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(Off.GdOffset), (ulong)gdSector);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(Off.OverHead), (ulong)overHead);
        header[Off.Newline] = 0x0A; header[Off.Newline + 1] = 0x20; header[Off.Newline + 2] = 0x0D; header[Off.Newline + 3] = 0x0A;
        f.Write(header);
        if (descSectors > 0) WriteAt(f, 512, desc);
        var gd = new byte[gdSectors * 512];
        foreach (var t in tables) BinaryPrimitives.WriteUInt32LittleEndian(gd.AsSpan((int)(t * 4)), (uint)gtSectorOf[t]);
        WriteAt(f, gdSector * 512, gd);
        long grainSector = overHead;
        var gts = tables.ToDictionary(t => t, _ => new byte[gtSectors * 512]);
        foreach (var (g, data) in grains.OrderBy(kv => kv.Key))
        {
            uint gte;
            if (data is null) gte = 1;
            else
            {
                if (data.Length != grainBytes) throw new ArgumentException("grain data must be one grain long");
                WriteAt(f, grainSector * 512, data);
                gte = (uint)grainSector;
                grainSector += grainSectors;
            }
            BinaryPrimitives.WriteUInt32LittleEndian(gts[g / gtesPerGt].AsSpan((int)(g % gtesPerGt * 4)), gte);
        }
        foreach (var t in tables) WriteAt(f, gtSectorOf[t] * 512, gts[t]);
        f.SetLength(Math.Max(f.Length, grainSector * 512));
    }

    /// <summary>
    /// Writes a streamOptimized file in the VMware layout (digest 3.3, layout 1): header with GD_AT_END, embedded
    /// descriptor, grain records in LBA order (all-zero grains left out), a GT marker + GT after each table's grains,
    /// GD marker + GD, footer marker + footer, EOS.
    /// </summary>
    public static void WriteVmwareStream(string path, byte[] raw, uint cid, int grainSectors = 128, string extentName = "generated-stream.vmdk")
    {
        const int gtes = 512;
        long capacity = raw.Length / 512;
        long grainBytes = grainSectors * 512L;
        long numGdes = (capacity + (long)gtes * grainSectors - 1) / ((long)gtes * grainSectors);
        string descriptor = Descriptor(cid, 0xFFFFFFFF, null, capacity, extentName, "streamOptimized", "RDONLY");
        byte[] desc = Encoding.UTF8.GetBytes(descriptor);
        long descSectors = (desc.Length + 511) / 512;
        long overHead = 128;
        byte[] Header(ulong gdOffset)
        {
            var h = new byte[512];
            BinaryPrimitives.WriteUInt32LittleEndian(h, KdmvMagic);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(Off.Version), 3);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(Off.Flags), 0x30001);
            BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(Off.Capacity), (ulong)capacity);
            BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(Off.GrainSize), (ulong)grainSectors);
            BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(Off.DescriptorOffset), 1);
            BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(Off.DescriptorSize), (ulong)descSectors);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(Off.GtesPerGt), gtes);
            BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(Off.GdOffset), gdOffset);
            BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(Off.OverHead), (ulong)overHead);
            h[Off.Newline] = 0x0A; h[Off.Newline + 1] = 0x20; h[Off.Newline + 2] = 0x0D; h[Off.Newline + 3] = 0x0A;
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(Off.Compress), 1);
            return h;
        }
        byte[] Marker(ulong val, uint type)
        {
            var m = new byte[512];
            BinaryPrimitives.WriteUInt64LittleEndian(m, val);
            BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(12), type);
            return m;
        }
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write);
        f.Write(Header(0xFFFFFFFFFFFFFFFF));
        WriteAt(f, 512, desc);
        long cur = overHead * 512;
        var gd = new byte[(numGdes * 4 + 511) / 512 * 512];
        for (long t = 0; t < numGdes; t++)
        {
            var gt = new byte[gtes * 4];
            bool any = false;
            for (int i = 0; i < gtes; i++)
            {
                long g = t * gtes + i;
                long start = g * grainBytes;
                if (start >= raw.Length) break;
                var grain = raw.AsSpan((int)start, (int)Math.Min(grainBytes, raw.Length - start));
                if (!grain.ContainsAnyExcept((byte)0)) continue;
                using var ms = new MemoryStream();
                using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true)) z.Write(grain);
                var rec = new byte[(12 + ms.Length + 511) / 512 * 512];
                BinaryPrimitives.WriteUInt64LittleEndian(rec, (ulong)(g * grainSectors));
                BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(8), (uint)ms.Length);
                ms.ToArray().CopyTo(rec, 12);
                WriteAt(f, cur, rec);
                BinaryPrimitives.WriteUInt32LittleEndian(gt.AsSpan(i * 4), (uint)(cur / 512));
                cur += rec.Length;
                any = true;
            }
            if (!any) continue;
            WriteAt(f, cur, Marker(4, 1));
            cur += 512;
            BinaryPrimitives.WriteUInt32LittleEndian(gd.AsSpan((int)(t * 4)), (uint)(cur / 512));
            WriteAt(f, cur, gt);
            cur += gt.Length;
        }
        WriteAt(f, cur, Marker((ulong)(gd.Length / 512), 2));
        cur += 512;
        long gdSector = cur / 512;
        WriteAt(f, cur, gd);
        cur += gd.Length;
        WriteAt(f, cur, Marker(1, 3));
        cur += 512;
        WriteAt(f, cur, Header((ulong)gdSector));
        cur += 512;
        WriteAt(f, cur, new byte[512]);
    }

    public static void WriteAt(FileStream f, long offset, ReadOnlySpan<byte> data)
    {
        f.Position = offset;
        f.Write(data);
    }

    /// <summary>Overwrites bytes of an existing file (to corrupt a field).</summary>
    public static void Patch(string path, long offset, ReadOnlySpan<byte> data)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        WriteAt(f, offset, data);
    }

    public static void PatchU32(string path, long offset, uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        Patch(path, offset, b);
    }

    public static void PatchU64(string path, long offset, ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        Patch(path, offset, b);
    }

    public static byte[] Fill(int length, byte value)
    {
        var b = new byte[length];
        Array.Fill(b, value);
        return b;
    }
}
