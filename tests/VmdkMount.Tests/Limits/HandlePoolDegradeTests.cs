using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;
using VmdkMount.Tests.Vmdk;

namespace VmdkMount.Tests.Limits;

/// <summary>
/// The pool's answer to EMFILE: a pool that believes it may keep 1,000 handles, in a process that (as the stand-in
/// says) can open only 12 more, lowers its bound, closes idle handles and reopens; the chain opens and reads right
/// from 8 threads at once, and never more than the 12 are open.
/// </summary>
public class HandlePoolDegradeTests
{
    private const int RealRoom = 12;

    [Fact]
    public void A_pool_sized_above_the_real_limit_degrades_by_reopening_instead_of_failing()
    {
        string dir = RepoPaths.NewScratch("limits-degrade");
        try
        {
            var (top, expected) = SyntheticChain.Build(dir, 300);
            FileHandlePool? pool = null;
            int highest = 0;
            pool = new FileHandlePool(1000, () =>
            {
                int open = pool!.OpenCount;
                if (open >= RealRoom) throw new OutOfDescriptorsException("stand-in", "Too many open files");
                highest = Math.Max(highest, open + 1);
            });
            using var disk = VmdkDisk.OpenChain(top, new DiskOpenOptions(), pool);
            Assert.Equal(300, disk.Links.Count);
            Parallel.For(0, 8, _ =>
            {
                var buf = new byte[expected.Length];
                Assert.Equal(buf.Length, disk.ReadAt(0, buf));
                Assert.True(expected.AsSpan().SequenceEqual(buf), "wrong bytes after degrading");
            });
            Assert.True(pool.Degradations > 0, "the stand-in limit was never reached");
            Assert.True(pool.Capacity < RealRoom, $"the bound stayed at {pool.Capacity}");
            Assert.True(highest <= RealRoom && pool.OpenCount <= RealRoom, $"{highest} handles were open at once");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Every_handle_busy_past_the_wait_fails_the_open_with_the_limit_named()
    {
        string dir = RepoPaths.NewScratch("limits-degrade-busy");
        try
        {
            var (top, _) = SyntheticChain.Build(dir, 3);
            var pool = new FileHandlePool(4, () => throw new OutOfDescriptorsException("stand-in", "Too many open files"), TimeSpan.FromSeconds(1));
            var e = Assert.Throws<OutOfDescriptorsException>(() => VmdkDisk.OpenChain(top, new DiskOpenOptions(), pool));
            Assert.Contains("ulimit -n is", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
