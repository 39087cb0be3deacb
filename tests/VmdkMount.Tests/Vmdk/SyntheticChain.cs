namespace VmdkMount.Tests.Vmdk;

/// <summary>
/// Builds long chains of tiny hosted sparse links with <see cref="VmdkTestWriter"/>, plus the flattened content they
/// must read as (a simple model: the newest link that has a grain wins; a zeroed grain hides older links).
/// </summary>
internal static class SyntheticChain
{
    public const long CapacitySectors = 2048; // 1 MiB
    public const int GrainSectors = 8;        // 4 KiB grains: 256 per link

    public static (string Top, byte[] Expected) Build(string dir, int links, string prefix = "l")
    {
        const int grainBytes = GrainSectors * 512;
        const int numGrains = (int)(CapacitySectors / GrainSectors);
        var expected = new byte[CapacitySectors * 512];
        string? prev = null;
        string top = "";
        for (int i = 0; i < links; i++)
        {
            var grains = new Dictionary<long, byte[]?>();
            if (i == 0)
                for (int g = 0; g < numGrains; g += 3) grains[g] = VmdkTestWriter.Fill(grainBytes, 0xB0);
            else if (i % 7 == 0)
                grains[(i * 13) % numGrains] = VmdkTestWriter.Fill(grainBytes, (byte)(i % 251 + 1));
            if (i > 0 && i % 101 == 0) grains[(i * 5 + 1) % numGrains] = null;
            string name = $"{prefix}{i:D5}.vmdk";
            var descriptor = VmdkTestWriter.Descriptor(Cid(i), i == 0 ? 0xFFFFFFFF : Cid(i - 1), prev, CapacitySectors, name);
            VmdkTestWriter.WriteHosted(Path.Combine(dir, name), CapacitySectors, GrainSectors, grains, descriptor);
            foreach (var (g, data) in grains)
            {
                var target = expected.AsSpan((int)(g * grainBytes), grainBytes);
                if (data is null) target.Clear();
                else data.CopyTo(target);
            }
            prev = name;
            top = Path.Combine(dir, name);
        }
        return (top, expected);
    }

    public static uint Cid(int i) => 0x10000u + (uint)i;
}
