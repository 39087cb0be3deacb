using System.Text;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Errors;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Vmdk;

/// <summary>
/// Descriptor parsing (digest section 1) on hand-written descriptors: the cases where qemu is not a usable oracle
/// (ZERO and RDONLY extents, `key = value` spacing, NOACCESS), plus real VMware descriptors from images-real.
/// </summary>
public sealed class DescriptorTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("vmdk-desc");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static DescriptorFile Parse(string text) => DescriptorFile.Parse(Encoding.UTF8.GetBytes(text), "test.vmdk");

    [Fact]
    public void Crlf_spacing_quotes_and_case_are_tolerated()
    {
        var d = Parse("# Disk DescriptorFile\r\nversion = 1\r\nCID = 82AFB25\r\nparentCID=ffffffff\r\nCreateType = \"monolithicFlat\"\r\n" +
                      "\r\n# Extent description\r\nrw 2048  FLAT\t\"my disk #1 (ü).img\" 0\r\n\r\n#DDB\r\nddb.adapterType = \"lsilogic\"\r\n");
        Assert.Equal(1, d.Version);
        Assert.Equal(0x082afb25u, d.Cid);
        Assert.False(d.HasParent);
        Assert.Equal("monolithicFlat", d.CreateType);
        var e = Assert.Single(d.Extents);
        Assert.Equal(ExtentAccess.ReadWrite, e.Access);
        Assert.Equal(2048, e.SizeSectors);
        Assert.Equal("FLAT", e.Type);
        Assert.Equal("my disk #1 (ü).img", e.FileName);
        Assert.Equal("lsilogic", d.DiskDatabase["ddb.adapterType"]);
    }

    [Fact]
    public void Bare_values_with_trailing_spaces_like_ovftool_and_duplicate_keys()
    {
        var d = Parse("# Disk DescriptorFile\nversion=1 \nCID=bb17cc39 \nparentCID=ffffffff \ncreateType=streamOptimized \nCID=bb17cc3a\n" +
                      "RDONLY 61440 SPARSE \"generated-stream.vmdk\"\n");
        Assert.Equal("streamOptimized", d.CreateType);
        Assert.Equal(0xbb17cc3au, d.Cid);
        Assert.Contains(d.Warnings, w => w.Contains("twice"));
        Assert.Equal(ExtentAccess.ReadOnly, d.Extents[0].Access);
    }

    [Fact]
    public void Windows_1252_descriptor_decodes_file_names()
    {
        var bytes = Encoding.Latin1.GetBytes("# Disk DescriptorFile\nversion=1\nencoding=\"windows-1252\"\nCID=fffffffe\nparentCID=ffffffff\n" +
                                             "createType=\"monolithicFlat\"\nRW 16 FLAT \"caf\u00e9-flat.vmdk\" 0\n");
        var d = DescriptorFile.Parse(bytes, "w.vmdk");
        Assert.Equal("caf\u00e9-flat.vmdk", d.Extents[0].FileName);
        Assert.Equal("windows-1252", d.Encoding);
    }

    [Fact]
    public void Real_vmware_workstation_descriptor_from_libvmdk()
    {
        var d = DescriptorFile.Parse(File.ReadAllBytes(Path.Combine(RepoPaths.RealImages, "libvmdk", "descriptor_file.1")), "descriptor_file.1");
        Assert.Equal(1, d.Version);
        Assert.Equal("windows-1252", d.Encoding);
        Assert.Equal(0xfffffffeu, d.Cid);
        Assert.False(d.HasParent);
        Assert.Equal("monolithicSparse", d.CreateType);
        var e = Assert.Single(d.Extents);
        Assert.Equal((ExtentAccess.ReadWrite, 16777216L, "SPARSE", "test1.vmdk"), (e.Access, e.SizeSectors, e.Type, e.FileName));
        Assert.Equal("ide", d.DiskDatabase["ddb.adapterType"]);
        Assert.Equal("16383", d.DiskDatabase["ddb.geometry.cylinders"]);
        Assert.Equal("16", d.DiskDatabase["ddb.geometry.heads"]);
        Assert.Equal("63", d.DiskDatabase["ddb.geometry.sectors"]);
        Assert.Equal("e61f2478a1f3c8bc7c3a8f36fffffffe", d.DiskDatabase["ddb.longContentID"]);
    }

    [Fact]
    public void Real_workstation_split_descriptor_lists_16_extents()
    {
        var d = DescriptorFile.Parse(File.ReadAllBytes(Path.Combine(RepoPaths.RealImages, "vmdk-forensic", "ms3-win.vmdk")), "ms3-win.vmdk");
        Assert.Equal(16, d.Extents.Count);
        Assert.All(d.Extents, e => Assert.Equal("SPARSE", e.Type));
        Assert.StartsWith("twoGbMaxExtentSparse", d.CreateType);
    }

    [Fact]
    public void Zero_rdonly_flat_offset_and_mixed_extents_lay_out_in_order()
    {
        // qemu skips ZERO and RDONLY lines (digest 1.3), so the expected bytes come from this model.
        var a = VmdkTestWriter.Fill(100 * 512, 0xA1);
        var bFile = new byte[50 * 512];
        Random.Shared.NextBytes(bFile);
        File.WriteAllBytes(Path.Combine(_dir, "a b #1 \u00fc-flat.vmdk"), a);
        File.WriteAllBytes(Path.Combine(_dir, "second.bin"), bFile);
        string sparseName = "piece.vmdk";
        VmdkTestWriter.WriteHosted(Path.Combine(_dir, sparseName), 64, 8, new Dictionary<long, byte[]?> { [2] = VmdkTestWriter.Fill(4096, 0xC3) }, null);
        File.WriteAllText(Path.Combine(_dir, "mixed.vmdk"),
            "# Disk DescriptorFile\r\nversion=1\r\nencoding=\"UTF-8\"\r\nCID=12345678\r\nparentCID=ffffffff\r\ncreateType = \"custom\"\r\n\r\n" +
            "RW 100 FLAT \"a b #1 \u00fc-flat.vmdk\" 0\r\nRDONLY 30 ZERO\r\nNOACCESS 0 ZERO \r\nRDONLY 40 FLAT \"second.bin\" 10\r\nRW 64 SPARSE \"piece.vmdk\"\r\n");
        using var disk = DiskOpener.Open(Path.Combine(_dir, "mixed.vmdk"));
        var expected = new byte[(100 + 30 + 40 + 64) * 512];
        a.CopyTo(expected, 0);
        bFile.AsSpan(10 * 512, 40 * 512).CopyTo(expected.AsSpan(130 * 512));
        expected.AsSpan(170 * 512 + 2 * 4096, 4096).Fill(0xC3);
        var actual = new byte[expected.Length];
        Assert.Equal(expected.Length, disk.ReadAt(0, actual));
        Assert.True(expected.AsSpan().SequenceEqual(actual));
        Assert.Equal([(0L, 100 * 512L), (130 * 512L, 40 * 512L), (170 * 512L + 8192, 4096L)],
            disk.QueryAllocated(0, disk.Length).Select(r => (r.Offset, r.Length)));
        Assert.Contains(disk.Warnings, w => w.Contains("zero-size extent"));
    }

    [Fact]
    public void Sparse_piece_smaller_than_its_descriptor_size_reads_zeros_past_its_end()
    {
        VmdkTestWriter.WriteHosted(Path.Combine(_dir, "p1.vmdk"), 16, 8, new Dictionary<long, byte[]?> { [1] = VmdkTestWriter.Fill(4096, 0x3C) }, null);
        File.WriteAllText(Path.Combine(_dir, "sized.vmdk"),
            "# Disk DescriptorFile\nversion=1\nCID=5\nparentCID=ffffffff\ncreateType=\"twoGbMaxExtentSparse\"\nRW 32 SPARSE \"p1.vmdk\"\nRW 8 ZERO\n");
        using var disk = DiskOpener.Open(Path.Combine(_dir, "sized.vmdk"));
        Assert.Equal(40 * 512, disk.Length);
        Assert.Contains(disk.Warnings, w => w.Contains("laid out by the descriptor"));
        var buf = new byte[disk.Length];
        disk.ReadAt(0, buf);
        Assert.All(buf.AsSpan(4096, 4096).ToArray(), b => Assert.Equal(0x3C, b));
        Assert.False(buf.AsSpan(0, 4096).ContainsAnyExcept((byte)0));
        Assert.False(buf.AsSpan(8192).ContainsAnyExcept((byte)0));
    }

    [Fact]
    public void Noaccess_extent_fails_reads_there_and_only_there()
    {
        File.WriteAllBytes(Path.Combine(_dir, "ok-flat.vmdk"), VmdkTestWriter.Fill(8 * 512, 0x42));
        File.WriteAllText(Path.Combine(_dir, "na.vmdk"),
            "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType=\"custom\"\nRW 8 FLAT \"ok-flat.vmdk\" 0\nNOACCESS 8 FLAT \"secret-flat.vmdk\" 0\n");
        using var disk = DiskOpener.Open(Path.Combine(_dir, "na.vmdk"));
        var buf = new byte[4096];
        Assert.Equal(4096, disk.ReadAt(0, buf));
        Assert.All(buf, b => Assert.Equal(0x42, b));
        var e = Assert.ThrowsAny<VmdkMountException>(() => disk.ReadAt(4096, buf));
        Assert.Contains("NOACCESS", e.Message);
    }

    [Fact]
    public void Vmfs_descriptor_without_offset_reads_the_flat_file()
    {
        var data = new byte[16 * 512];
        Random.Shared.NextBytes(data);
        File.WriteAllBytes(Path.Combine(_dir, "esx-flat.vmdk"), data);
        File.WriteAllText(Path.Combine(_dir, "esx.vmdk"),
            "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=0172e8a4\nparentCID=ffffffff\nisNativeSnapshot=\"no\"\ncreateType=\"vmfs\"\n\n# Extent description\nRW 16 VMFS \"esx-flat.vmdk\"\n");
        using var disk = DiskOpener.Open(Path.Combine(_dir, "esx.vmdk"));
        var buf = new byte[data.Length];
        disk.ReadAt(0, buf);
        Assert.Equal(data, buf);
    }
}

/// <summary>qemu's "descriptor container" (digest 1.6) and the byte-bounded metadata cache.</summary>
public sealed class DescriptorContainerAndCacheTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("vmdk-container");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Sparse_header_with_capacity_0_holds_a_full_descriptor()
    {
        var data = new byte[32 * 512];
        new Random(3).NextBytes(data);
        File.WriteAllBytes(Path.Combine(_dir, "data.bin"), data);
        string path = Path.Combine(_dir, "container.vmdk");
        VmdkTestWriter.WriteHosted(path, 0, 8, new Dictionary<long, byte[]?>(),
            "# Disk DescriptorFile\nversion=1\nCID=abcdef01\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\nRW 32 FLAT \"data.bin\" 0\n");
        using var disk = DiskOpener.Open(path);
        var buf = new byte[data.Length];
        disk.ReadAt(0, buf);
        Assert.Equal(data, buf);
    }

    [Fact]
    public void Byte_bounded_cache_evicts_least_recently_used_to_stay_within_budget()
    {
        var cache = new VmdkMount.Core.Caching.BoundedCache<int, byte[]>(new VmdkMount.Core.Caching.CacheBudget(10_000));
        for (int i = 0; i < 100; i++)
        {
            cache.Add(i, new byte[1000], 1000);
            Assert.True(cache.TryGet(0, out _), "recently used entry evicted");
            Assert.True(cache.Bytes <= 10_000);
        }
        Assert.False(cache.TryGet(50, out _));
        Assert.True(cache.TryGet(99, out _));
    }
}
