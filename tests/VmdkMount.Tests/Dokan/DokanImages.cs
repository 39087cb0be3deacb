using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;
using VmdkMount.Dokan;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Dokan;

/// <summary>
/// Mount trees over the suite's real images (mkntfs + ntfs-3g, mke2fs -d, mkfs.fat + mcopy), each as one volume of a
/// tree, and the Dokan adapter over it with the fake native layer.
/// </summary>
internal sealed class DokanImages : IDisposable
{
    public static string Ntfs => Path.Combine(TestImages.Get("ntfs-basic"), "basic.img");
    public static string NtfsManifest => Path.Combine(TestImages.Get("ntfs-basic"), "basic.manifest.json");
    public static string Ext => Path.Combine(TestImages.Get("dokan-ext"), "ext.img");
    public static string ExtManifest => Path.Combine(TestImages.Get("dokan-ext"), "ext.manifest");
    public static string Fat => Path.Combine(TestImages.Get("fat-basic"), "fat32.img");

    private readonly List<IDisposable> _owned = [];

    public MountTree Tree { get; }
    public FakeDokan Native { get; } = new();
    public DokanAdapter Adapter { get; }
    public DokanHarness Dokan { get; }
    public List<string> Logged { get; } = [];

    /// <summary>Volumes (id, image, kind); <paramref name="single"/> shows one at the root, as `mount --volume`.</summary>
    public DokanImages((string Id, string Image, string Kind)[] volumes, string? single = null, DokanAdapterOptions? options = null,
        Func<IFileSystem, IFileSystem>? wrap = null)
    {
        var list = new List<Volume>();
        var readers = new Dictionary<string, IFileSystem>();
        RawDisk? first = null;
        foreach (var (id, image, kind) in volumes)
        {
            var disk = new RawDisk(image);
            _owned.Add(disk);
            first ??= disk;
            var data = new SubRange(disk, 0, disk.Length);
            var fs = FormatRegistry.Default.Open(kind, data, Path.GetFileName(image), new FileSystemOptions());
            _owned.Add(fs);
            readers[id] = wrap is null ? fs : wrap(fs);
            list.Add(new Volume { Id = id, Offset = 0, Size = disk.Length, Scheme = "mbr", FileSystem = kind, Mountable = true, Data = data });
        }
        Tree = new MountTree(first!, list, v => readers[v.Id], new MountTreeOptions { SingleVolume = single } /* the CLI's: lookup-counted */);
        Adapter = new DokanAdapter(Tree, Native, options, Logged.Add);
        Dokan = new DokanHarness(Adapter);
    }

    public static DokanImages NtfsOnly(DokanAdapterOptions? options = null) => new([("p1", Ntfs, "ntfs")], "p1", options);

    public static DokanImages ExtOnly(DokanAdapterOptions? options = null, Func<IFileSystem, IFileSystem>? wrap = null) =>
        new([("p1", Ext, "ext4")], "p1", options, wrap);

    public void Dispose()
    {
        Dokan.Dispose();
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
    }
}
