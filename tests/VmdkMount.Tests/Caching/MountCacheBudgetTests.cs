using VmdkMount.Core.Caching;
using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;
using VmdkMount.Tests.Infrastructure;
using Xunit;

namespace VmdkMount.Tests.Caching;

/// <summary>
/// One budget bounds every cache of a mount: the engine's grain tables, the block cache and the filesystem readers'
/// metadata, read through the same <see cref="MountTree"/> a FUSE mount serves (`mount --cache-size` makes this budget).
/// </summary>
public class MountCacheBudgetTests
{
    [Fact]
    public void Walking_a_tree_larger_than_the_budget_never_accounts_more_than_the_budget()
    {
        // 100,000 entries in one directory: its parsed listing alone wants about 8 MiB.
        string image = Path.Combine(TestImages.Get("ext-bigdir"), "ext4_bigdir.img");
        var budget = new CacheBudget(4L << 20);
        using var mounted = MountedDisk.Open(image, new DiskOpenOptions { Raw = true, BlockCache = true, Cache = budget }, new FileSystemOptions { Cache = budget });
        var tree = new MountTree(mounted, new MountTreeOptions { Retention = NodeRetention.KeepAll });
        long entries = Walk(tree, readFiles: false);
        Assert.True(entries > 100_000, $"only {entries} entries: not the tree this test is about");
        Assert.InRange(budget.PeakBytes, budget.CapacityBytes / 2, budget.CapacityBytes); // pressed, and bounded
        Assert.True(budget.UsedBytes <= budget.CapacityBytes);
    }

    [Fact]
    public void The_engines_grain_tables_are_charged_to_the_same_budget_and_released_with_the_disk()
    {
        string chain = Path.Combine(TestImages.Get("fuse-chain"), "child2.vmdk");
        var budget = new CacheBudget(1L << 20);
        using (var mounted = MountedDisk.Open(chain, new DiskOpenOptions { BlockCache = true, Cache = budget }, new FileSystemOptions { Cache = budget }))
        {
            var buffer = new byte[64 * 1024];
            for (long at = 0; at < mounted.Disk.Length; at += 1L << 20) mounted.Disk.ReadAt(at, buffer);
            Assert.True(budget.UsedBytes > 0, "reading the chain charged nothing");
            var tree = new MountTree(mounted, new MountTreeOptions { Retention = NodeRetention.KeepAll });
            long entries = Walk(tree, readFiles: true);
            Assert.True(entries > 5, $"{entries} entries");
            Assert.True(budget.PeakBytes <= budget.CapacityBytes, $"peak {budget.PeakBytes} over {budget.CapacityBytes}");
            foreach (var v in tree.Volumes.Where(v => v.Mountable)) mounted.OpenFileSystem(v.Id).Dispose();
        }
        Assert.Equal(0, budget.UsedBytes); // every cache gave its bytes back when its owner was disposed
    }

    private static long Walk(MountTree tree, bool readFiles)
    {
        long entries = 0;
        var buffer = new byte[64 * 1024];
        var pending = new Stack<MountInode>();
        pending.Push(tree.Root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            IReadOnlyList<(string Name, MountInode Inode)> children;
            try { children = tree.List(dir); }
            catch (Core.Errors.VmdkMountException) { continue; }
            foreach (var (_, child) in children)
            {
                entries++;
                if (child.IsDirectory) pending.Push(child);
                else if (readFiles && child.Kind == MountNodeKind.FsNode && child.Node!.Type == FsNodeType.File)
                    for (long at = 0; at < child.Node.Size; at += buffer.Length) tree.Read(child, at, buffer);
            }
        }
        return entries;
    }
}
