using VmdkMount.Core.Disks;
using VmdkMount.Core.Mounting;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;
using VmdkMount.Fuse;
using Xunit;

namespace VmdkMount.Tests.Fuse;

/// <summary>
/// Directory-level read-ahead into the kernel's page cache (FUSE_NOTIFY_STORE), mounted for real in this process:
/// the stored pages must hold exactly the files' bytes, and the reader's own reads of them must not reach the reader
/// below (the kernel answers them), which is the point of storing ahead.
/// </summary>
[Collection(KernelCacheTests.Collection)]
public class StoreAheadTests
{
    private static (MountTree Tree, MemoryFileSystem Fs, List<(string Name, long Id, byte[] Data)> Files, long Big, long Empty) Build()
    {
        var fs = new MemoryFileSystem("ext4", unixOwners: true);
        long dir = fs.AddDir(fs.RootId, "small");
        var files = new List<(string, long, byte[])>();
        var random = new Random(11);
        for (int i = 0; i < 60; i++)
        {
            // Sizes across page boundaries, the last page partly filled.
            var data = new byte[1 + random.Next(3 * 4096 + 100)];
            random.NextBytes(data);
            string name = $"f{i:D3}.bin";
            files.Add((name, fs.AddFile(dir, name, data), data));
        }
        var bigData = new byte[StoreAhead.MaxFileSize + 1];
        random.NextBytes(bigData);
        long big = fs.AddFile(dir, "zz-big.bin", bigData);
        long empty = fs.AddFile(dir, "zz-empty.bin", []);
        var disk = new MemoryDisk(new byte[1 << 20], [new AllocatedRange(0, 1 << 20)]);
        var volume = new Volume { Id = "p1", Offset = 0, Size = 1 << 20, Scheme = "mbr", FileSystem = "ext4", Mountable = true, Data = new SubRange(disk, 0, 1) };
        var tree = new MountTree(disk, [volume], _ => fs, new MountTreeOptions());
        return (tree, fs, files, big, empty);
    }

    [Fact]
    public void Reading_one_small_file_stores_its_later_siblings_in_the_page_cache_byte_exact()
    {
        var (tree, fs, files, big, empty) = Build();
        using var m = new InProcessMount(tree);
        string dir = Path.Combine(m.Path_, "p1", "small");
        // Listing order is the reader's order: the first file triggers, every later one is stored.
        Assert.Equal(files.Select(f => f.Name).Concat(["zz-big.bin", "zz-empty.bin"]), Directory.EnumerateFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(files[0].Data, File.ReadAllBytes(Path.Combine(dir, files[0].Name)));

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (files.Skip(1).Any(f => fs.ReadsOf(f.Id) == 0) && DateTime.UtcNow < deadline) Thread.Sleep(10);
        var before = files.ToDictionary(f => f.Id, f => fs.ReadsOf(f.Id));
        Assert.All(files.Skip(1), f => Assert.Equal(1, before[f.Id]));
        Assert.Equal(0, fs.ReadsOf(big)); // over the size limit: left to the kernel's own read-ahead
        Assert.Equal(0, fs.ReadsOf(empty));

        foreach (var (name, id, data) in files.Skip(1))
        {
            Assert.Equal(data, File.ReadAllBytes(Path.Combine(dir, name)));
            Assert.Equal(before[id], fs.ReadsOf(id)); // answered from the stored pages
        }
        Assert.Equal(StoreAhead.MaxFileSize + 1, File.ReadAllBytes(Path.Combine(dir, "zz-big.bin")).Length);
        Assert.Empty(File.ReadAllBytes(Path.Combine(dir, "zz-empty.bin")));
        Assert.Empty(m.Log);
    }

    [Fact]
    public void Listing_alone_stores_nothing()
    {
        var (tree, fs, files, _, _) = Build();
        using var m = new InProcessMount(tree);
        string dir = Path.Combine(m.Path_, "p1", "small");
        Assert.Equal(files.Count + 2, Directory.EnumerateFiles(dir).Count());
        foreach (var f in files) Assert.Equal(f.Data.Length, new FileInfo(Path.Combine(dir, f.Name)).Length);
        Thread.Sleep(300);
        Assert.All(files, f => Assert.Equal(0, fs.ReadsOf(f.Id)));
    }
}
