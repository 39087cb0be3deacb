using System.IO.Compression;
using System.Security.Cryptography;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;
using static VmdkMount.Tests.Vmdk.Writers.DeltaTestKit;

namespace VmdkMount.Tests.Vmdk;

/// <summary>
/// The real SEsparse extent from dissect.hypervisor (almost certainly written by ESXi); expectations and hashes
/// come from its README (../shared/images-real/dissect-hypervisor), which got them from qemu-img.
/// </summary>
public class SeSparseRealImageTests
{
    private const long Mi = 1024 * 1024;
    private const string ExtentSha256 = "d33e393354748c566d521f67a4d93e80c73c31ad78be61280f2b1087ae4b12c2";
    private const string GzSha256 = "d11dd610199dea88b3e1563842341e136bf3fdc8e85f0e593bf5c2274bdae8e3";
    private const string FlatSha256 = "3afa48010241335528fe402f083fc9f3a1013a49485221443a78d9a8604e2f90";
    private const string First16MiBSha256 = "5b6ff2e19d0da0fe323061018fc381393492884e74af8296c81ab9cb2694783a";

    private static string GzPath => Path.Combine(RepoPaths.RealImages, "dissect-hypervisor", "sesparse.vmdk.gz");

    private static string Gunzip(string dir)
    {
        string path = Path.Combine(dir, "sesparse.vmdk");
        using (var input = File.OpenRead(GzPath))
        using (var gz = new GZipStream(input, CompressionMode.Decompress))
        using (var output = File.Create(path))
            gz.CopyTo(output);
        Assert.Equal(ExtentSha256, Hashing.Sha256File(path));
        return path;
    }

    [Fact]
    public void Real_esxi_sesparse_reads_as_its_readme_says()
    {
        Assert.Equal(GzSha256, Hashing.Sha256File(GzPath));
        string dir = RepoPaths.NewScratch("sesparse-real");
        try
        {
            string path = Gunzip(dir);
            using (var file = LocalSourceStore.OpenFile(path))
            using (var extent = SeSparseExtent.Open(file, path))
            {
                var se = (SeSparseExtent)extent;
                var h = se.Header;
                Assert.Equal(0x100000, h.CapacitySectors);
                Assert.Equal(512 * Mi, extent.Length);
                Assert.Equal(0x20000, h.GdEntries);
                Assert.Equal(0x1000, SeSparseHeader.EntriesPerGt);
                Assert.Equal(new SeSparseRegion("grain directory", 0x1000, 0x800), h.GrainDirectory);
                Assert.Equal(new SeSparseRegion("grain tables", 0x1800, 0x800), h.GrainTables);
                Assert.Equal(new SeSparseRegion("grains", 0x3000, 0x100000), h.Grains);
                Assert.Equal(new SeSparseRegion("volatile header", 1, 1), h.VolatileHeader);
                Assert.Equal(new SeSparseRegion("journal", 0x800, 0x800), h.Journal);
                Assert.Equal(1UL, se.VolatileHeader.FreeGtNumber);
                Assert.Equal(0x24UL, se.VolatileHeader.NextTxnSeqNumber);
                Span<byte> gde = stackalloc byte[8];
                file.ReadExactly(h.GrainDirectory.ByteOffset, gde, "first GDE");
                Assert.Equal(0x1000000000000000UL, System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(gde));

                Assert.Empty(extent.Warnings);
                Assert.Empty(extent.Check());

                // qemu-img map: 0..16 MiB allocated, the rest not
                long off = 0;
                long data = 0;
                while (off < extent.Length)
                {
                    var run = extent.Map(off);
                    if (run.State == GrainState.Data)
                    {
                        Assert.True(off + run.Length <= 16 * Mi, $"data run at {off}+{run.Length}");
                        data += run.Length;
                    }
                    else
                    {
                        Assert.Equal(GrainState.Unallocated, run.State);
                        Assert.True(off >= 16 * Mi, $"unallocated run at {off}");
                    }
                    off += run.Length;
                }
                Assert.Equal(16 * Mi, data);

                // the first 16 MiB are 'a', all 512 MiB hash as the README says
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var chunk = new byte[4 * Mi];
                for (off = 0; off < extent.Length; off += chunk.Length)
                {
                    ReadFlat(extent, off, chunk, parent: null);
                    if (off < 16 * Mi) Assert.True(chunk.AsSpan().IndexOfAnyExcept((byte)'a') < 0, $"not all 'a' in chunk at {off}");
                    sha.AppendData(chunk);
                }
                Assert.Equal(FlatSha256, Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant());

                // one ReadData over the whole data run (coalesced into large file reads)
                var first = new byte[16 * Mi];
                extent.ReadData(0, first);
                Assert.Equal(First16MiBSha256, Hashing.Sha256(first));
            }
            Assert.Equal(ExtentSha256, Hashing.Sha256File(path));
            Assert.Equal(GzSha256, Hashing.Sha256File(GzPath));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Real_esxi_sesparse_through_a_throwaway_descriptor_matches_qemu()
    {
        string dir = RepoPaths.NewScratch("sesparse-real-qemu");
        try
        {
            string path = Gunzip(dir);
            string descriptor = Path.Combine(dir, "sesparse-desc.vmdk");
            File.WriteAllText(descriptor,
                "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"seSparse\"\n\n" +
                "# Extent description\nRW 1048576 SESPARSE \"sesparse.vmdk\"\n");
            string raw = QemuRaw(descriptor, dir);
            Assert.Equal(FlatSha256, Hashing.Sha256File(raw));
            using (var file = LocalSourceStore.OpenFile(path))
            using (var extent = SeSparseExtent.Open(file, path))
                AssertSameAsRaw(extent, parent: null, raw, chunk: 4 << 20);
            Assert.Equal(ExtentSha256, Hashing.Sha256File(path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Through the engine: the throw-away descriptor, and the bare extent file opened on its own.</summary>
    [Fact]
    public void Real_esxi_sesparse_through_the_engine_hashes_as_its_readme_says()
    {
        string dir = RepoPaths.NewScratch("sesparse-real-engine");
        try
        {
            string path = Gunzip(dir);
            string descriptor = Path.Combine(dir, "sesparse-desc.vmdk");
            File.WriteAllText(descriptor,
                "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"seSparse\"\n\n" +
                "# Extent description\nRW 1048576 SESPARSE \"sesparse.vmdk\"\n");
            foreach (string source in new[] { descriptor, path })
            {
                using var disk = DiskOpener.Open(source);
                Assert.Equal(512 * Mi, disk.Length);
                Assert.Equal([new AllocatedRange(0, 16 * Mi)], disk.QueryAllocated(0, disk.Length).ToList());
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var chunk = new byte[4 * Mi];
                for (long off = 0; off < disk.Length; off += chunk.Length)
                {
                    disk.ReadExactly(off, chunk, source);
                    sha.AppendData(chunk);
                }
                Assert.Equal(FlatSha256, Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant());
            }
            Assert.Equal(ExtentSha256, Hashing.Sha256File(path));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
