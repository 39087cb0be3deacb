using System.Text;
using System.Text.RegularExpressions;
using VmdkMount.Tests.Infrastructure;
using static VmdkMount.Tests.Vmdk.Writers.DeltaTestKit;

namespace VmdkMount.Tests.Vmdk.Writers;

/// <summary>Builds chains with COWD and SEsparse links (32 MiB disks) on top of qemu-made or vmfs bases.</summary>
public static class DeltaChainBuilder
{
    public const long Mi = 1024 * 1024;
    public const long Capacity = 32 * Mi;
    public const long CapacitySectors = Capacity / 512;

    public static string CopyBase(string dir)
    {
        string images = TestImages.Get("vmdk-deltas-bases");
        string path = Path.Combine(dir, "ms-base.vmdk");
        File.Copy(Path.Combine(images, "ms-base.vmdk"), path);
        return path;
    }

    public static uint ReadCid(string vmdk)
    {
        var head = new byte[64 * 1024];
        using (var f = File.OpenRead(vmdk)) head = head[..f.Read(head)];
        var m = Regex.Match(Encoding.Latin1.GetString(head), @"^CID=([0-9a-fA-F]{1,8})\s*$", RegexOptions.Multiline);
        Assert.True(m.Success, $"no CID in {vmdk}");
        return Convert.ToUInt32(m.Groups[1].Value, 16);
    }

    /// <summary>COWD child (grains of <paramref name="grainSectors"/>) with a spread of grains over the parent's data and holes.</summary>
    public static string AddCowd(string dir, string name, string parentDescriptor, uint grainSectors, int seed)
    {
        var w = new CowdWriter((uint)CapacitySectors, grainSectors);
        long grains = CapacitySectors / grainSectors;
        var rnd = new Random(seed);
        var chosen = new SortedSet<long> { 0, 1, grains - 1, 4096 % grains, 4097 % grains };
        while (chosen.Count < 300) chosen.Add(rnd.NextInt64(grains));
        foreach (long g in chosen.Reverse()) w.AddGrain(g, Pattern(w.GrainBytes, seed * 100_000 + (int)g));
        w.Write(Path.Combine(dir, name + "-delta.vmdk"));
        string descriptor = Path.Combine(dir, name + ".vmdk");
        File.WriteAllText(descriptor, CowdWriter.Descriptor(name + "-delta.vmdk", CapacitySectors, (uint)(0x10000000 + seed),
            ReadCid(parentDescriptor), Path.GetFileName(parentDescriptor)));
        return descriptor;
    }

    /// <summary>SEsparse child: data grains in scattered slots (past 4096 too), zero and unmapped grains over parent data.</summary>
    public static string AddSeSparse(string dir, string name, string parentDescriptor, int seed)
    {
        var w = new SeSparseWriter(CapacitySectors);
        long grains = CapacitySectors / SeSparseWriter.GrainSectors;
        var rnd = new Random(seed);
        long slot = 5000;
        for (int i = 0; i < 200; i++)
        {
            long g = rnd.NextInt64(grains);
            switch (i % 4)
            {
                case 0: w.AddZero(g); break;
                case 1: w.AddUnmapped(g); break;
                default: w.AddData(g, Pattern(SeSparseWriter.GrainBytes, seed * 100_000 + (int)g), slot--); break;
            }
        }
        for (long g = 0; g < 16; g++) w.AddZero(g);           // hides the base's first 64 KiB
        w.AddData(300, Pattern(SeSparseWriter.GrainBytes, 7), 4097);
        w.Write(Path.Combine(dir, name + "-sesparse.vmdk"));
        string descriptor = Path.Combine(dir, name + ".vmdk");
        File.WriteAllText(descriptor, SeSparseWriter.Descriptor(name + "-sesparse.vmdk", CapacitySectors, (uint)(0x20000000 + seed),
            ReadCid(parentDescriptor), Path.GetFileName(parentDescriptor)));
        return descriptor;
    }

}
