using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;
using VmdkMount.Tests.Vmdk.Writers;
using static VmdkMount.Tests.Vmdk.Writers.DeltaChainBuilder;
using static VmdkMount.Tests.Vmdk.Writers.DeltaTestKit;

namespace VmdkMount.Tests.Vmdk;

/// <summary>
/// Chains with COWD and SEsparse links on a qemu-made monolithicSparse base, flattened link by link with our
/// extents over qemu's raw image of the base, compared with qemu-img convert of the whole chain. (The engine
/// tests in DeltaEngineChainTests open the same chains through DiskOpener.)
/// </summary>
public class DeltaExtentChainTests
{
    private static byte[] FlattenByExtents(byte[] below, IEnumerable<string> deltaDescriptors)
    {
        foreach (string descriptor in deltaDescriptors)
        {
            string stem = Path.Combine(Path.GetDirectoryName(descriptor)!, Path.GetFileNameWithoutExtension(descriptor));
            bool se = File.Exists(stem + "-sesparse.vmdk");
            string extentFile = se ? stem + "-sesparse.vmdk" : stem + "-delta.vmdk";
            using var file = LocalSourceStore.OpenFile(extentFile);
            using var extent = se ? SeSparseExtent.Open(file, extentFile) : CowdExtent.Open(file, extentFile);
            Assert.Empty(extent.Check());
            var next = new byte[extent.Length];
            ReadFlat(extent, 0, next, new ByteArraySource(below));
            below = next;
        }
        return below;
    }

    private static void AssertSameBytes(byte[] ours, string qemuRaw)
    {
        var theirs = File.ReadAllBytes(qemuRaw);
        Assert.Equal(theirs.Length, ours.Length);
        int same = ours.AsSpan().CommonPrefixLength(theirs);
        Assert.True(same == ours.Length, $"differs from {qemuRaw} at byte {same}");
    }

    [Fact]
    public void Cowd_child_on_a_qemu_monolithicSparse_base_matches_qemu()
    {
        string dir = RepoPaths.NewScratch("xchain-cowd-ms");
        try
        {
            string baseVmdk = CopyBase(dir);
            string child = AddCowd(dir, "ms-base-000001", baseVmdk, 1, seed: 1);
            var before = Hashing.Snapshot(dir);
            var baseRaw = File.ReadAllBytes(QemuRaw(baseVmdk, dir));
            AssertSameBytes(FlattenByExtents(baseRaw, [child]), QemuRaw(child, dir));
            foreach (var f in Directory.GetFiles(dir, "*.qemu.raw")) File.Delete(f);
            Assert.Equal(before, Hashing.Snapshot(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>64 KiB base (qemu) &lt;- 512 B COWD &lt;- 4 KiB SEsparse &lt;- 4 KiB COWD.</summary>
    [Fact]
    public void Mixed_grain_chain_matches_qemu_at_every_link()
    {
        string dir = RepoPaths.NewScratch("xchain-mixed");
        try
        {
            string l0 = CopyBase(dir);
            string l1 = AddCowd(dir, "ms-base-000001", l0, 1, seed: 3);
            string l2 = AddSeSparse(dir, "ms-base-000002", l1, seed: 4);
            string l3 = AddCowd(dir, "ms-base-000003", l2, 8, seed: 5);
            var before = Hashing.Snapshot(dir);
            var baseRaw = File.ReadAllBytes(QemuRaw(l0, dir));
            AssertSameBytes(FlattenByExtents(baseRaw, [l1]), QemuRaw(l1, dir));
            AssertSameBytes(FlattenByExtents(baseRaw, [l1, l2]), QemuRaw(l2, dir));
            AssertSameBytes(FlattenByExtents(baseRaw, [l1, l2, l3]), QemuRaw(l3, dir));
            foreach (var f in Directory.GetFiles(dir, "*.qemu.raw")) File.Delete(f);
            Assert.Equal(before, Hashing.Snapshot(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
