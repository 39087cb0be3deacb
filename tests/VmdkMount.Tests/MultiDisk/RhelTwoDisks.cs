using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.MultiDisk;

/// <summary>
/// The two disks of images/multidisk-lvm.sh and what the real tools said about them: the VG name, each PV's UUID,
/// LVM's own segment map, ext4's block list of the file that crosses the PV boundary, and sha256 of every file as
/// the kernel's ext4 saw it. Beside them, the two disks of another VM whose second PV carries no metadata (nomda1/2).
/// </summary>
public static class RhelTwoDisks
{
    public static string Dir => TestImages.Get("multidisk-lvm");

    public static string Disk1 => Path.Combine(Dir, "disk1.vmdk");

    public static string Disk2 => Path.Combine(Dir, "disk2.vmdk");

    public static string Vg => File.ReadAllText(Path.Combine(Dir, "vgname.txt")).Trim();

    public static string Lv(string name) => $"lvm-{Vg}-{name}";

    /// <summary>The other VM: its VG's text is on nomda1's PV only (nomda2's PV was made with --metadatacopies 0).</summary>
    public static string NoMda(int disk) => Path.Combine(Dir, $"nomda{disk}.vmdk");

    public static string SpillLv => $"lvm-{File.ReadAllText(Path.Combine(Dir, "vgname-nomda.txt")).Trim()}-spill";

    public static string NoMdaPvUuid(int disk) =>
        File.ReadAllLines(Path.Combine(Dir, "pvs-nomda.txt")).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Single(f => f[0] == $"nomda{disk}")[1];

    /// <summary>The UUID `pvs` shows for the PV on disk 1 or disk 2 (dashed).</summary>
    public static string PvUuid(int disk) =>
        File.ReadAllLines(Path.Combine(Dir, "pvs.txt")).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Single(f => f[0] == $"disk{disk}")[1];

    public static long ExtentBytes => long.Parse(File.ReadAllText(Path.Combine(Dir, "extent-bytes.txt")).Trim());

    /// <summary>`lvs --segments` rows of an LV: (start extent, extent count, stripes, PE ranges such as `disk1:12-17`).</summary>
    public static List<(long Start, long Count, int Stripes, string[] Ranges)> Segments(string lv) =>
        File.ReadAllLines(Path.Combine(Dir, "lvs-segments.txt")).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length > 0 && f[0] == lv)
            .Select(f => (long.Parse(f[1]), long.Parse(f[2]), int.Parse(f[3]), f.Skip(5).ToArray())).ToList();

    /// <summary>Byte range (in the home LV) of the data blocks ext4 gave /alice/big.bin.</summary>
    public static (long First, long Last) BigFileBytes()
    {
        var lines = File.ReadAllLines(Path.Combine(Dir, "home-big-blocks.txt"));
        long blockSize = long.Parse(lines[0].Trim());
        var blocks = string.Join(' ', lines.Skip(1)).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToList();
        return (blocks.Min() * blockSize, (blocks.Max() + 1) * blockSize - 1);
    }

    /// <summary>sha256 of every regular file of a filesystem (boot, root, home, data) by its path from the root (`/alice/notes.txt`).</summary>
    public static Dictionary<string, string> Sums(string fs) =>
        File.ReadAllLines(Path.Combine(Dir, $"sums-{fs}.txt")).Where(l => l.Length > 0)
            .ToDictionary(l => l[(l.IndexOf("  ./", StringComparison.Ordinal) + 3)..], l => l[..64]);
}
