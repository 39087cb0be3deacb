using VmdkMount.Tests.Vmdk;

namespace VmdkMount.Tests.Limits;

/// <summary>
/// Spreads a flattened disk (images/limits-ext.sh's disk.raw) over a chain of any depth, written by
/// <see cref="VmdkTestWriter"/> (proven against qemu in TestWriterProofTests; every test here proves its own chain
/// with `qemu-img convert` too). Each 64 KiB grain that holds data lives in one link chosen by a spread of its index;
/// the link below it holds a decoy (0xDE bytes) that only the right order of the links hides; some all-zero grains
/// get a decoy below and a zeroed-grain entry on top. So the flattened disk is right only if every link is read, in
/// order, and a reader of the volume touches links all along the chain.
/// </summary>
internal static class FsChain
{
    public const int GrainSectors = 128;
    private const int GrainBytes = GrainSectors * 512;

    /// <summary>Writes links `chain-00000.vmdk` (the base) .. `chain-{links-1}.vmdk` into <paramref name="dir"/>; returns the top.</summary>
    public static string Build(string dir, string rawDisk, int links)
    {
        byte[] raw = File.ReadAllBytes(rawDisk);
        if (raw.Length % GrainBytes != 0) throw new InvalidOperationException("the disk is not a whole number of grains");
        long capacitySectors = raw.Length / 512;
        int grains = raw.Length / GrainBytes;
        var perLink = new Dictionary<long, byte[]?>[links];
        for (int i = 0; i < links; i++) perLink[i] = new();
        var decoy = VmdkTestWriter.Fill(GrainBytes, 0xDE);
        for (int g = 0; g < grains; g++)
        {
            var data = raw.AsSpan(g * GrainBytes, GrainBytes);
            int owner = (int)((g * 7919L + 3) % links);
            bool zero = !data.ContainsAnyExcept((byte)0);
            if (zero && g % 5 != 0) continue;
            perLink[owner][g] = zero ? null : data.ToArray();
            if (owner > 0 && (!zero || g % 5 == 0)) perLink[owner - 1][g] = decoy;
        }
        string? prev = null;
        string top = "";
        for (int i = 0; i < links; i++)
        {
            string name = $"chain-{i:D5}.vmdk";
            var descriptor = VmdkTestWriter.Descriptor(Cid(i), i == 0 ? 0xFFFFFFFF : Cid(i - 1), prev, capacitySectors, name);
            VmdkTestWriter.WriteHosted(Path.Combine(dir, name), capacitySectors, GrainSectors, perLink[i], descriptor);
            prev = name;
            top = Path.Combine(dir, name);
        }
        return top;
    }

    private static uint Cid(int i) => 0x5A0000u + (uint)i;
}
