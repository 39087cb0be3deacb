using System.Buffers.Binary;
using System.Text;

namespace VmdkMount.Tests.Vmdk.Writers;

/// <summary>
/// Test-only writer of ESX vmfsSparse (COWD) deltas, laid out as the digest (section 5) and qemu's reader expect:
/// a 4-sector header, the grain directory at sector 4, grain tables of 4096 u32 entries, then grains in the order
/// they were added. No tool writes COWD, so its output is proven by qemu-img reading it.
/// </summary>
public sealed class CowdWriter
{
    public const int SectorSize = 512;
    public const int EntriesPerGt = 4096;
    public const int GtSectors = EntriesPerGt * 4 / SectorSize;

    private readonly List<(long Grain, byte[] Data)> _grains = new();

    public CowdWriter(uint capacitySectors, uint grainSectors = 1)
    {
        CapacitySectors = capacitySectors;
        GrainSectors = grainSectors;
    }

    public uint CapacitySectors { get; }
    public uint GrainSectors { get; }
    public int GrainBytes => (int)GrainSectors * SectorSize;

    public uint Version { get; set; } = 1;
    public uint Flags { get; set; } = 3;
    public uint UncleanShutdown { get; set; }

    /// <summary>Overrides the directory size written in the header (defaults to what the capacity needs).</summary>
    public uint? NumGdEntriesOverride { get; set; }

    public uint NeededGdEntries => (uint)((CapacitySectors + (long)EntriesPerGt * GrainSectors - 1) / ((long)EntriesPerGt * GrainSectors));

    /// <summary>Where things landed, for tests that corrupt a file on purpose.</summary>
    public sealed record Layout(uint GdSector, uint NumGdEntries, IReadOnlyDictionary<long, uint> GtSectorByGdi,
        IReadOnlyDictionary<long, uint> GrainSectorByGrain, long FileLength);

    public bool HasGrain(long grain) => _grains.Any(g => g.Grain == grain);

    /// <summary>Adds an allocated grain; grains are stored in the order added.</summary>
    public CowdWriter AddGrain(long grain, byte[] data)
    {
        if (data.Length != GrainBytes) throw new ArgumentException($"grain data must be {GrainBytes} bytes");
        if (grain * GrainSectors >= CapacitySectors) throw new ArgumentOutOfRangeException(nameof(grain));
        _grains.Add((grain, data));
        return this;
    }

    public Layout Write(string path)
    {
        uint numGd = NumGdEntriesOverride ?? NeededGdEntries;
        const uint gdSector = 4;
        uint gdSectors = (uint)((numGd * 4L + SectorSize - 1) / SectorSize);
        uint next = gdSector + Math.Max(1, gdSectors);

        var gtByGdi = new SortedDictionary<long, uint>();
        foreach (long gdi in _grains.Select(g => g.Grain / EntriesPerGt).Distinct().OrderBy(x => x))
        {
            gtByGdi[gdi] = next;
            next += GtSectors;
        }
        var grainSectors = new Dictionary<long, uint>();
        foreach (var (grain, _) in _grains)
        {
            grainSectors[grain] = next;
            next += GrainSectors;
        }

        long fileLength = (long)next * SectorSize;
        var file = new byte[fileLength];
        var h = file.AsSpan();
        "COWD"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], CapacitySectors);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], GrainSectors);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], gdSector);
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], numGd);
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], next);
        BinaryPrimitives.WriteUInt32LittleEndian(h[1648..], UncleanShutdown);

        foreach (var (gdi, gtSector) in gtByGdi)
            if (gdi < numGd) BinaryPrimitives.WriteUInt32LittleEndian(h[(int)(gdSector * SectorSize + gdi * 4)..], gtSector);
        foreach (var (grain, data) in _grains)
        {
            uint gtSector = gtByGdi[grain / EntriesPerGt];
            int gti = (int)(grain % EntriesPerGt);
            BinaryPrimitives.WriteUInt32LittleEndian(h[(int)(gtSector * SectorSize + gti * 4)..], grainSectors[grain]);
            data.CopyTo(h[(int)(grainSectors[grain] * (long)SectorSize)..]);
        }
        File.WriteAllBytes(path, file);
        return new Layout(gdSector, numGd, gtByGdi, grainSectors, fileLength);
    }

    /// <summary>A vmfsSparse descriptor for a delta whose parent is <paramref name="parentHint"/>.</summary>
    public static string Descriptor(string deltaFileName, long capacitySectors, uint cid, uint parentCid, string parentHint) =>
        VmdkDescriptorText.Child("vmfsSparse", "VMFSSPARSE", deltaFileName, capacitySectors, cid, parentCid, parentHint);
}

/// <summary>Descriptor texts for the hand-made test disks (qemu cannot create vmfs, vmfsSparse or seSparse).</summary>
public static class VmdkDescriptorText
{
    public static string Child(string createType, string extentType, string extentFile, long capacitySectors,
        uint cid, uint parentCid, string parentHint)
    {
        var sb = new StringBuilder();
        sb.Append("# Disk DescriptorFile\n");
        sb.Append("version=1\n");
        sb.Append("encoding=\"UTF-8\"\n");
        sb.Append($"CID={cid:x8}\n");
        sb.Append($"parentCID={parentCid:x8}\n");
        sb.Append("isNativeSnapshot=\"no\"\n");
        sb.Append($"createType=\"{createType}\"\n");
        if (parentCid != 0xffffffff) sb.Append($"parentFileNameHint=\"{parentHint}\"\n");
        sb.Append("\n# Extent description\n");
        sb.Append($"RW {capacitySectors} {extentType} \"{extentFile}\"\n");
        sb.Append("\n# The Disk Data Base\n#DDB\n\n");
        sb.Append("ddb.adapterType = \"lsilogic\"\n");
        sb.Append("ddb.virtualHWVersion = \"13\"\n");
        return sb.ToString();
    }

    /// <summary>An ESXi `vmfs` (flat) base: descriptor NAME.vmdk plus NAME-flat.vmdk holding <paramref name="data"/>.</summary>
    public static string WriteVmfsBase(string dir, string name, byte[] data, uint cid)
    {
        if (data.Length % 512 != 0) throw new ArgumentException("flat data must be whole sectors");
        File.WriteAllBytes(Path.Combine(dir, name + "-flat.vmdk"), data);
        var sb = new StringBuilder();
        sb.Append("# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\n");
        sb.Append($"CID={cid:x8}\nparentCID=ffffffff\nisNativeSnapshot=\"no\"\ncreateType=\"vmfs\"\n");
        sb.Append($"\n# Extent description\nRW {data.Length / 512} VMFS \"{name}-flat.vmdk\"\n");
        sb.Append("\n# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\nddb.virtualHWVersion = \"13\"\n");
        string path = Path.Combine(dir, name + ".vmdk");
        File.WriteAllText(path, sb.ToString());
        return path;
    }
}
