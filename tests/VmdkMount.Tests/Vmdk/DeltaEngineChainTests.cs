using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;
using VmdkMount.Tests.Vmdk.Writers;
using static VmdkMount.Tests.Vmdk.Writers.DeltaTestKit;
using static VmdkMount.Tests.Vmdk.Writers.DeltaChainBuilder;

namespace VmdkMount.Tests.Vmdk;

/// <summary>
/// COWD and SEsparse links inside whole chains, opened the way users open them (DiskOpener on the newest
/// descriptor), compared byte for byte with qemu-img convert of the same chain.
/// </summary>
public class DeltaEngineChainTests
{
    private static void AssertDiskSameAsQemu(string top, string dir)
    {
        string raw = QemuRaw(top, dir);
        using (var disk = DiskOpener.Open(top))
        using (var expected = LocalSourceStore.OpenFile(raw))
        {
            Assert.Equal(expected.Length, disk.Length);
            var ours = new byte[Mi];
            var theirs = new byte[Mi];
            for (long off = 0; off < disk.Length; off += Mi)
            {
                int n = (int)Math.Min(Mi, disk.Length - off);
                disk.ReadExactly(off, ours.AsSpan(0, n), top);
                expected.ReadExactly(off, theirs.AsSpan(0, n), raw);
                if (!ours.AsSpan(0, n).SequenceEqual(theirs.AsSpan(0, n)))
                {
                    int i = ours.AsSpan(0, n).CommonPrefixLength(theirs.AsSpan(0, n));
                    Assert.Fail($"{top} differs from qemu at byte {off + i}");
                }
            }
            AssertAllocationLikeQemu(disk, top);
        }
        File.Delete(raw);
    }

    /// <summary>The set of allocated bytes (QueryAllocated) equals qemu-img map's data=true ranges.</summary>
    private static void AssertAllocationLikeQemu(IVirtualDisk disk, string top)
    {
        var json = Tool.Run("qemu-img", "map", "--output=json", "-f", "vmdk", top).StdOut;
        var qemu = new List<(long Start, long End)>();
        foreach (var e in JsonDocument.Parse(json).RootElement.EnumerateArray())
            if (e.GetProperty("data").GetBoolean())
                Merge(qemu, e.GetProperty("start").GetInt64(), e.GetProperty("length").GetInt64());
        var ours = new List<(long Start, long End)>();
        foreach (var r in disk.QueryAllocated(0, disk.Length)) Merge(ours, r.Offset, r.Length);
        Assert.Equal(qemu, ours);
    }

    private static void Merge(List<(long Start, long End)> ranges, long start, long length)
    {
        if (length <= 0) return;
        if (ranges.Count > 0 && ranges[^1].End == start) ranges[^1] = (ranges[^1].Start, start + length);
        else ranges.Add((start, start + length));
    }

    [Fact]
    public void Cowd_child_on_a_qemu_monolithicSparse_base_reads_like_qemu()
    {
        string dir = RepoPaths.NewScratch("chain-cowd-ms");
        try
        {
            string baseVmdk = CopyBase(dir);
            string child = AddCowd(dir, "ms-base-000001", baseVmdk, 1, seed: 1);
            var before = Hashing.Snapshot(dir);
            AssertDiskSameAsQemu(child, dir);
            Assert.Equal(before, Hashing.Snapshot(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SeSparse_child_on_a_qemu_monolithicSparse_base_reads_like_qemu()
    {
        string dir = RepoPaths.NewScratch("chain-se-ms");
        try
        {
            string baseVmdk = CopyBase(dir);
            string child = AddSeSparse(dir, "ms-base-000001", baseVmdk, seed: 2);
            var before = Hashing.Snapshot(dir);
            AssertDiskSameAsQemu(child, dir);
            Assert.Equal(before, Hashing.Snapshot(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// 64 KiB base (qemu) &lt;- 512 B COWD &lt;- 4 KiB SEsparse &lt;- 4 KiB COWD &lt;- 64 KiB monolithicSparse child
    /// made by qemu-img whose partial writes made qemu copy whole grains up through our deltas.
    /// </summary>
    [Fact]
    public void Mixed_grain_chain_of_qemu_cowd_and_sesparse_links_reads_like_qemu()
    {
        string dir = RepoPaths.NewScratch("chain-mixed");
        try
        {
            string l0 = CopyBase(dir);
            string l1 = AddCowd(dir, "ms-base-000001", l0, 1, seed: 3);
            string l2 = AddSeSparse(dir, "ms-base-000002", l1, seed: 4);
            string l3 = AddCowd(dir, "ms-base-000003", l2, 8, seed: 5);
            string l4 = Path.Combine(dir, "ms-base-000004.vmdk");
            Tool.Run("qemu-img", "create", "-q", "-f", "vmdk", "-b", Path.GetFileName(l3), "-F", "vmdk", l4);
            Tool.Run("qemu-io", "-f", "vmdk", "-c", "write -P 0xab 100k 4k", "-c", "write -P 0xcd 4200k 512",
                "-c", "write -P 0xef 32704k 64k", l4);
            var before = Hashing.Snapshot(dir);
            AssertDiskSameAsQemu(l4, dir);
            AssertDiskSameAsQemu(l3, dir);
            Assert.Equal(before, Hashing.Snapshot(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Cowd_and_sesparse_children_of_a_vmfs_base_read_like_qemu_through_the_engine()
    {
        string dir = RepoPaths.NewScratch("chain-vmfs");
        try
        {
            string baseVmdk = VmdkDescriptorText.WriteVmfsBase(dir, "vm", Pattern((int)Capacity, 11), 0x0a0b0c0d);
            string c1 = AddCowd(dir, "vm-000001", baseVmdk, 1, seed: 6);
            string c2 = AddSeSparse(dir, "vm-000002", c1, seed: 7);
            var before = Hashing.Snapshot(dir);
            AssertDiskSameAsQemu(c2, dir);
            Assert.Equal(before, Hashing.Snapshot(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// The real ESXi vmfs base and vmfsSparse snapshot descriptor from vmdk-rs (its COWD delta was not published),
    /// completed with a COWD delta from our writer under the name the descriptor expects.
    /// </summary>
    [Fact]
    public void Real_esxi_vmfsSparse_descriptor_with_our_cowd_delta_reads_like_qemu()
    {
        string real = Path.Combine(RepoPaths.RealImages, "vmdk-rs");
        string dir = RepoPaths.NewScratch("chain-esxi-vmfs");
        try
        {
            foreach (var name in new[] { "vmfs_thick.vmdk", "vmfs_thick-flat.vmdk", "vmfs_thick-000001.vmdk" })
                File.Copy(Path.Combine(real, name), Path.Combine(dir, name));
            var w = new CowdWriter(4096, 1);
            var rnd = new Random(5);
            for (int i = 0; i < 200; i++)
            {
                long g = rnd.NextInt64(4096);
                if (!w.HasGrain(g)) w.AddGrain(g, Pattern(512, i));
            }
            w.Write(Path.Combine(dir, "vmfs_thick-000001-delta.vmdk"));
            string top = Path.Combine(dir, "vmfs_thick-000001.vmdk");
            var before = Hashing.Snapshot(dir);
            AssertDiskSameAsQemu(top, dir);
            Assert.Equal(before, Hashing.Snapshot(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>100 links alternating COWD (512 B, 4 KiB grains) and SEsparse over a vmfs base, 4 MiB each.</summary>
    [Fact]
    public void Deep_chain_of_alternating_cowd_and_sesparse_links_reads_like_qemu()
    {
        string dir = RepoPaths.NewScratch("chain-deep-deltas");
        try
        {
            const long cap = 4 * Mi / 512;
            string parent = VmdkDescriptorText.WriteVmfsBase(dir, "d", Pattern((int)(cap * 512), 31), 0x31313131);
            var rnd = new Random(31);
            for (int i = 1; i <= 100; i++)
            {
                string name = $"d-{i:000000}";
                uint parentCid = ReadCid(parent);
                uint cid = (uint)(0x40000000 + i);
                string descriptor = Path.Combine(dir, name + ".vmdk");
                if (i % 3 == 0)
                {
                    var w = new SeSparseWriter(cap);
                    for (int k = 0; k < 12; k++)
                    {
                        long g = rnd.NextInt64(cap / 8);
                        if (k % 4 == 0) w.AddZero(g);
                        else w.AddData(g, Pattern(4096, i * 1000 + k), slot: 11 - k);
                    }
                    w.Write(Path.Combine(dir, name + "-sesparse.vmdk"));
                    File.WriteAllText(descriptor, SeSparseWriter.Descriptor(name + "-sesparse.vmdk", cap, cid, parentCid, Path.GetFileName(parent)));
                }
                else
                {
                    uint grainSectors = i % 3 == 1 ? 1u : 8u;
                    var w = new CowdWriter((uint)cap, grainSectors);
                    for (int k = 0; k < 12; k++)
                    {
                        long g = rnd.NextInt64(cap / grainSectors);
                        if (!w.HasGrain(g)) w.AddGrain(g, Pattern(w.GrainBytes, i * 1000 + k));
                    }
                    w.Write(Path.Combine(dir, name + "-delta.vmdk"));
                    File.WriteAllText(descriptor, CowdWriter.Descriptor(name + "-delta.vmdk", cap, cid, parentCid, Path.GetFileName(parent)));
                }
                parent = descriptor;
            }
            var before = Hashing.Snapshot(dir);
            AssertDiskSameAsQemu(parent, dir);
            Assert.Equal(before, Hashing.Snapshot(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A SPARSE extent line whose file is COWD: dispatch goes by the file's magic, as qemu does.</summary>
    [Fact]
    public void Sparse_extent_line_naming_a_cowd_file_reads_like_qemu()
    {
        string dir = RepoPaths.NewScratch("chain-sparse-cowd");
        try
        {
            string baseVmdk = CopyBase(dir);
            string child = AddCowd(dir, "ms-base-000001", baseVmdk, 1, seed: 12);
            string text = File.ReadAllText(child)
                .Replace("createType=\"vmfsSparse\"", "createType=\"twoGbMaxExtentSparse\"")
                .Replace(" VMFSSPARSE ", " SPARSE ");
            Assert.Contains(" SPARSE \"ms-base-000001-delta.vmdk\"", text);
            File.WriteAllText(child, text);
            var before = Hashing.Snapshot(dir);
            AssertDiskSameAsQemu(child, dir);
            Assert.Equal(before, Hashing.Snapshot(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
