using System.Buffers.Binary;
using System.Text;
using VmdkMount.Fuse;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Fuse;

/// <summary>A chain whose newest link has one grain table entry pointing past its end: that file fails, the rest works.</summary>
public class DamagedChainMountTests
{
    // SparseExtentHeader fields (VMware's "hosted sparse extent" layout, as qemu-img writes it).
    private const int GrainSizeOffset = 20;
    private const int OverheadOffset = 64;
    private const int Sector = 512;

    /// <summary>Points the grain table entries of the grain that holds <paramref name="marker"/> past the end of the file.</summary>
    private static void BreakGrainHolding(string vmdk, byte[] marker)
    {
        byte[] bytes = File.ReadAllBytes(vmdk);
        long grainBytes = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(GrainSizeOffset)) * Sector;
        long metadataEnd = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(OverheadOffset)) * Sector;
        int at = bytes.AsSpan().IndexOf(marker);
        Assert.True(at > metadataEnd, "marker not found in a grain");
        int patched = 0;
        for (int i = Sector; i + 4 <= metadataEnd; i += 4)
        {
            long grainStart = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i)) * (long)Sector;
            if (grainStart == 0 || at < grainStart || at >= grainStart + grainBytes) continue;
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i), 0x7FFF_FF00);
            patched++;
        }
        Assert.InRange(patched, 1, 2); // the grain table and its redundant copy
        File.WriteAllBytes(vmdk, bytes);
    }

    [Fact]
    public void A_file_on_a_damaged_grain_fails_with_EIO_and_a_log_line_naming_it_while_the_mount_stays_up()
    {
        string images = TestImages.Get("fuse-chain");
        string scratch = RepoPaths.NewScratch("fuse-damaged");
        string mnt = Path.Combine(scratch, "mnt");
        try
        {
            foreach (var f in new[] { "base.vmdk", "child1.vmdk", "child2.vmdk" }) File.Copy(Path.Combine(images, f), Path.Combine(scratch, f));
            BreakGrainHolding(Path.Combine(scratch, "child2.vmdk"), Encoding.ASCII.GetBytes("CHILD2"));
            using var m = new CliMount(Path.Combine(scratch, "child2.vmdk"), mnt, Path.Combine(scratch, "state"));
            var r = Tool.Bash($"cat '{mnt}/p1/Documents/big.bin' > /dev/null", allowFailure: true);
            Assert.True(r.ExitCode != 0 && r.StdErr.Contains("Input/output error"), r.StdErr);
            Assert.Contains("p1:/Documents/big.bin", m.LogText);
            // Everything else still reads, and the process is still serving.
            Assert.Equal("bob changed in child1\n", File.ReadAllText(Path.Combine(mnt, "p2/home/bob/a.txt")));
            Assert.Equal(Hashing.Sha256File(Path.Combine(images, "eicar.txt")), Hashing.Sha256File(Path.Combine(mnt, "p1/Users/alice/Downloads/invoice.pdf.com")));
            Assert.NotNull(MountTable.Find(mnt));
            Assert.NotNull(MountState.ProcessStartTime(m.Pid));
        }
        finally
        {
            if (MountTable.Find(mnt) is not null) FuseSession.LazyUnmount(mnt);
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }
}
