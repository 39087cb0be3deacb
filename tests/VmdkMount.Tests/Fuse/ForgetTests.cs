using VmdkMount.Core.Disks;
using VmdkMount.Core.Mounting;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Fuse;

/// <summary>
/// The mount lets go of nodes the kernel forgot (FUSE FORGET), so scanning a huge backup does not keep every node
/// in memory, and a node looked up again after being forgotten reads as before.
/// </summary>
[Collection(KernelCacheTests.Collection)]
public class ForgetTests
{
    [Fact]
    public void Nodes_the_kernel_forgets_are_let_go_and_come_back_on_the_next_lookup()
    {
        var fs = new MemoryFileSystem();
        long dir = fs.AddDir(fs.RootId, "many");
        for (int i = 0; i < 2000; i++) fs.AddFile(dir, $"f{i:D4}.txt", System.Text.Encoding.ASCII.GetBytes($"content {i}\n"));
        var disk = new MemoryDisk(new byte[1 << 20], [new AllocatedRange(0, 1 << 20)]);
        var volume = new Volume
        {
            Id = "p1", Offset = 0, Size = 1 << 20, Scheme = "mbr", FileSystem = "ntfs", Mountable = true, Data = new SubRange(disk, 0, 1),
        };
        var tree = new MountTree(disk, [volume], _ => fs, new MountTreeOptions());
        using var m = new InProcessMount(tree);

        int files = int.Parse(Tool.Bash($"find '{m.Path_}' -type f | wc -l").StdOut.Trim());
        Assert.Equal(2000, files);
        int known = tree.Count;
        Assert.True(known >= 2000, $"{known} nodes known after the walk");

        // Make the kernel evict its dentries and inodes: it sends FORGET for each node it drops.
        bool released = false;
        for (int attempt = 0; attempt < 20 && !released; attempt++)
        {
            Tool.Bash("sync; echo 2 > /proc/sys/vm/drop_caches");
            Thread.Sleep(250);
            released = tree.Count < known / 10;
        }
        Assert.True(released, $"still {tree.Count} of {known} nodes known after the kernel dropped its caches");

        // Looked up anew, a forgotten node reads as before.
        Assert.Equal("content 1234\n", File.ReadAllText(Path.Combine(m.Path_, "p1", "many", "f1234.txt")));
        Assert.Equal(2000, Directory.GetFiles(Path.Combine(m.Path_, "p1", "many")).Length);
        Assert.Equal("content 7\n", File.ReadAllText(Path.Combine(m.Path_, "p1", "many", "f0007.txt")));
    }
}
