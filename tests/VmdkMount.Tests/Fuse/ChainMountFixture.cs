using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Fuse;

/// <summary>
/// The fuse-chain images mounted twice: by our CLI (child2.vmdk, the newest link), and by independent oracles over
/// `qemu-img convert -O raw` of the same chain: ntfs-3g for p1, a kernel loop mount for p2, mtools for p3.
/// Everything is unmounted in Dispose.
/// </summary>
public sealed class ChainMountFixture : IDisposable
{
    public const long MiB = 1 << 20;
    // The partition layout of images/fuse-chain.sh.
    private static readonly (string Id, long Offset, long Size)[] Partitions = [("p1", 1 * MiB, 24 * MiB), ("p2", 25 * MiB, 24 * MiB), ("p3", 49 * MiB, 20 * MiB)];

    private readonly List<string> _oracleMounts = [];
    private readonly CliMount? _ours;

    public ChainMountFixture()
    {
        Images = TestImages.Get("fuse-chain");
        SourceHashes = Hashing.Snapshot(Images);
        Scratch = RepoPaths.NewScratch("fuse-chain");
        try
        {
            string flat = Path.Combine(Scratch, "flat.raw");
            Tool.Run("qemu-img", "convert", "-f", "vmdk", "-O", "raw", Path.Combine(Images, "child2.vmdk"), flat);
            foreach (var (id, offset, size) in Partitions)
                Tool.Run("dd", $"if={flat}", $"of={Path.Combine(Scratch, id + ".img")}", "bs=1M", $"skip={offset / MiB}", $"count={size / MiB}", "status=none");
            File.Delete(flat);

            Oracle["p1"] = OracleMount("p1", img => Tool.Run("ntfs-3g", "-o", "ro", img, Dir("oracle-p1")));
            Oracle["p2"] = OracleMount("p2", img => Tool.Run("mount", "-o", "ro,loop,noload", img, Dir("oracle-p2")));
            string fat = Dir("oracle-p3");
            Tool.Run("mcopy", ["-s", "-m", "-n", "-i", Path.Combine(Scratch, "p3.img"), "::/*", fat],
                env: null);
            Oracle["p3"] = fat;

            MountPoint = Dir("mnt");
            _ours = new CliMount(Path.Combine(Images, "child2.vmdk"), MountPoint, Dir("state"));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Images { get; }

    public Dictionary<string, string> SourceHashes { get; }

    public string Scratch { get; }

    public string MountPoint { get; } = "";

    public Dictionary<string, string> Oracle { get; } = new();

    public CliMount Ours => _ours!;

    private string Dir(string name)
    {
        string d = Path.Combine(Scratch, name);
        Directory.CreateDirectory(d);
        return d;
    }

    private string OracleMount(string id, Action<string> mount)
    {
        string target = Path.Combine(Scratch, "oracle-" + id);
        mount(Path.Combine(Scratch, id + ".img"));
        _oracleMounts.Add(target);
        return target;
    }

    public void Dispose()
    {
        _ours?.Dispose();
        foreach (var m in _oracleMounts) Tool.Run("umount", ["-l", m], allowFailure: true);
        try { Directory.Delete(Scratch, recursive: true); } catch (IOException) { }
    }
}
