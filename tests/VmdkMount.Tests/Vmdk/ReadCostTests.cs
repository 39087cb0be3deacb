using VmdkMount.Core.Transports;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Vmdk;

/// <summary>Reads cost the same at any depth once the owner map is built; reads are thread-safe.</summary>
public class ReadCostTests
{
    [Fact]
    public void Base_only_grain_in_a_1000_link_chain_costs_one_file_read_once_resolved()
    {
        string dir = RepoPaths.NewScratch("vmdk-cost");
        try
        {
            var (top, expected) = SyntheticChain.Build(dir, 1000);
            var pool = new FileHandlePool(64);
            using var disk = VmdkDisk.OpenChain(top, new DiskOpenOptions(), pool);
            // grain 3 is written only by the base (link 999): base writes every third grain, children grains (i*13)%256 for i%7==0
            int grain = Enumerable.Range(0, 256).First(g => g % 3 == 0 && !Enumerable.Range(1, 999).Any(i => i % 7 == 0 && (i * 13) % 256 == g || i % 101 == 0 && (i * 5 + 1) % 256 == g));
            var buf = new byte[4096];
            disk.ReadAt(grain * 4096L, buf);
            long first = pool.Acquisitions;
            for (int i = 0; i < 100; i++) disk.ReadAt(grain * 4096L, buf);
            Assert.Equal(100, pool.Acquisitions - first);
            Assert.True(expected.AsSpan(grain * 4096, 4096).SequenceEqual(buf));
            Assert.Equal(disk.Links.Count - 1, disk.Owners(grain * 4096L, 4096).Single().Link);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Concurrent_reads_of_a_mixed_chain_match_qemu()
    {
        string images = TestImages.Get("vmdk-qemu");
        var raw = File.ReadAllBytes(Path.Combine(images, "c4.raw"));
        using var disk = DiskOpener.Open(Path.Combine(images, "c4.vmdk"));
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var rnd = new Random(i);
            var buf = new byte[rnd.Next(1, 300_000)];
            for (int k = 0; k < 50; k++)
            {
                long off = rnd.NextInt64(0, raw.Length - buf.Length);
                disk.ReadAt(off, buf);
                Assert.True(raw.AsSpan((int)off, buf.Length).SequenceEqual(buf), $"mismatch at {off}");
                _ = disk.QueryAllocated(off, buf.Length).Count();
            }
        });
    }

    /// <summary>
    /// The allocation query costs the runs the links report, not the capacity: over a 1 PiB disk of one sparse extent and
    /// a ZERO extent it yields a handful of owner runs and reads the extent's directory and one grain table, where a walk
    /// per 32 MiB block yields 33 million runs.
    /// </summary>
    [Fact]
    public void Allocation_query_of_a_1_PiB_zero_extent_disk_is_bounded_by_its_runs_not_its_capacity()
    {
        string dir = RepoPaths.NewScratch("vmdk-pib");
        try
        {
            string top = ZeroExtentDisk.Make(dir, 1L << 50);
            var pool = new FileHandlePool(64);
            using var disk = VmdkDisk.OpenChain(top, new DiskOpenOptions(), pool);
            Assert.Equal(1L << 50, disk.Length);
            long before = pool.Acquisitions;
            var owners = disk.Owners(0, disk.Length).Take(100).ToList();
            Assert.InRange(owners.Count, 2, 8);
            Assert.Equal(disk.Length, owners.Sum(o => o.Length));
            Assert.Equal([new AllocatedRange(0, ZeroExtentDisk.DataBytes)], disk.QueryAllocated(0, disk.Length).Take(10).ToList());
            Assert.Empty(disk.QueryAllocated(1L << 49, 1L << 40));
            Assert.InRange(pool.Acquisitions - before, 1, 16);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
