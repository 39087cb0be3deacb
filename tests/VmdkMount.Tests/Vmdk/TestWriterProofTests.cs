using VmdkMount.Core.Disks;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Vmdk;

/// <summary>The test writer's output is read by qemu-img exactly as by us, so it can stand in where qemu cannot create files.</summary>
public class TestWriterProofTests
{
    [Fact]
    public void Synthetic_chain_reads_the_same_in_qemu_and_here()
    {
        string dir = RepoPaths.NewScratch("vmdk-proof-chain");
        try
        {
            var (top, expected) = SyntheticChain.Build(dir, 120);
            string raw = Path.Combine(dir, "q.raw");
            Tool.Run("qemu-img", "convert", "-O", "raw", top, raw);
            Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(raw)), "qemu reads the writer's chain differently from the model");
            using var disk = DiskOpener.Open(top);
            VmdkOracle.AssertSameAsRaw(disk, raw);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void StreamOptimized_footer_layout_reads_like_qemu()
    {
        string dir = RepoPaths.NewScratch("vmdk-proof-stream");
        try
        {
            var rnd = new Random(42);
            var data = new byte[40 << 20];
            rnd.NextBytes(data.AsSpan(0, 200_000));
            data.AsSpan(33 << 20, 70_000).Fill(0x5A);        // second grain table
            rnd.NextBytes(data.AsSpan((40 << 20) - 1000));     // last grain
            string vmdk = Path.Combine(dir, "vmware-stream.vmdk");
            VmdkTestWriter.WriteVmwareStream(vmdk, data, cid: 0x1234abcd);
            string raw = Path.Combine(dir, "q.raw");
            Tool.Run("qemu-img", "convert", "-O", "raw", vmdk, raw);
            Assert.True(data.AsSpan().SequenceEqual(File.ReadAllBytes(raw)), "qemu reads the writer's stream file differently");
            var before = Hashing.Sha256File(vmdk);
            using (var disk = DiskOpener.Open(vmdk))
                VmdkOracle.AssertSameAsRaw(disk, raw);
            Assert.Equal(before, Hashing.Sha256File(vmdk));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
