using System.Buffers.Binary;
using System.Text;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Tests.Infrastructure;
using W = VmdkMount.Tests.Vmdk.VmdkTestWriter;

namespace VmdkMount.Tests.Vmdk;

/// <summary>
/// Every rejection rule of the digest's section 8 (hosted sparse, stream, descriptor, extents) with a crafted file:
/// a typed error naming the file, the structure and the offset; exit code 2 from the CLI; no hang; bounded memory;
/// the source files unchanged.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("vmdk-bad");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const long Cap = 2048;

    /// <summary>A valid monolithic sparse file: grains 0 and 5 hold data, 4 KiB grains.</summary>
    private string GoodSparse(string name = "bad.vmdk")
    {
        string path = Path.Combine(_dir, name);
        W.WriteHosted(path, Cap, 8, new Dictionary<long, byte[]?> { [0] = W.Fill(4096, 0x11), [5] = W.Fill(4096, 0x55) },
            W.Descriptor(0x42, 0xFFFFFFFF, null, Cap, name));
        return path;
    }

    private static ulong HeaderU64(string path, int off)
    {
        using var f = File.OpenRead(path);
        var b = new byte[8];
        f.Position = off;
        f.ReadExactly(b);
        return BinaryPrimitives.ReadUInt64LittleEndian(b);
    }

    private static long GdBytes(string path) => (long)HeaderU64(path, W.Off.GdOffset) * 512;

    private static long GtBytes(string path)
    {
        using var f = File.OpenRead(path);
        var b = new byte[4];
        f.Position = GdBytes(path);
        f.ReadExactly(b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b) * 512L;
    }

    /// <summary>A small VMware-layout stream file with one grain (record at sector 128).</summary>
    private string GoodStream(string name = "stream.vmdk")
    {
        var raw = new byte[1 << 20];
        new Random(7).NextBytes(raw.AsSpan(0, 65536));
        string path = Path.Combine(_dir, name);
        W.WriteVmwareStream(path, raw, 0x77);
        return path;
    }

    private const long RecordAt = 128 * 512;

    private string Text(string name, string text)
    {
        string p = Path.Combine(_dir, name);
        File.WriteAllText(p, text);
        return p;
    }

    private static string Desc(string extents) =>
        "# Disk DescriptorFile\nversion=1\nCID=11112222\nparentCID=ffffffff\ncreateType=\"custom\"\n" + extents;

    public static TheoryData<string> Cases => new(BuildCases(null!).Keys);

    private sealed record Case(Func<string> Build, Type Exception, string Fragment, bool AtRead = false, string? Names = null);

    private static Dictionary<string, Case> BuildCases(BadInputTests t) => new()
    {
        ["binary junk"] = new(() => { var p = Path.Combine(t._dir, "junk.vmdk"); File.WriteAllBytes(p, W.Fill(4096, 0x01)); return p; }, typeof(CorruptDataException), "not a VMDK"),
        ["two-byte file"] = new(() => { var p = Path.Combine(t._dir, "tiny.vmdk"); File.WriteAllBytes(p, [0x4B, 0x44]); return p; }, typeof(CorruptDataException), "not a VMDK"),
        ["header version 4"] = new(() => { var p = t.GoodSparse(); W.PatchU32(p, W.Off.Version, 4); return p; }, typeof(UnsupportedFeatureException), "version 4"),
        ["unknown incompatible flag"] = new(() => { var p = t.GoodSparse(); W.PatchU32(p, W.Off.Flags, 0x40001); return p; }, typeof(UnsupportedFeatureException), "incompatible header flags"),
        ["markers without compression"] = new(() => { var p = t.GoodSparse(); W.PatchU32(p, W.Off.Flags, 0x20001); return p; }, typeof(UnsupportedFeatureException), "markers without compression"),
        ["newline bytes translated"] = new(() => { var p = t.GoodSparse(); W.Patch(p, W.Off.Newline, "\n \n\n"u8); return p; }, typeof(CorruptDataException), "CR/LF"),
        ["compression algorithm 2"] = new(() => { var p = t.GoodSparse(); W.Patch(p, W.Off.Compress, [2, 0]); return p; }, typeof(UnsupportedFeatureException), "compression algorithm 2"),
        ["compressed flag with algorithm 0"] = new(() => { var p = t.GoodSparse(); W.PatchU32(p, W.Off.Flags, 0x10001); return p; }, typeof(CorruptDataException), "compression algorithm is 0"),
        ["grain size 0"] = new(() => { var p = t.GoodSparse(); W.PatchU64(p, W.Off.GrainSize, 0); return p; }, typeof(CorruptDataException), "grain size is 0"),
        ["grain size 3"] = new(() => { var p = t.GoodSparse(); W.PatchU64(p, W.Off.GrainSize, 3); return p; }, typeof(UnsupportedFeatureException), "grain size"),
        ["grain size 4096 sectors"] = new(() => { var p = t.GoodSparse(); W.PatchU64(p, W.Off.GrainSize, 4096); return p; }, typeof(UnsupportedFeatureException), "grain size"),
        ["0 entries per grain table"] = new(() => { var p = t.GoodSparse(); W.PatchU32(p, W.Off.GtesPerGt, 0); return p; }, typeof(CorruptDataException), "entries per grain table"),
        ["5000 entries per grain table"] = new(() => { var p = t.GoodSparse(); W.PatchU32(p, W.Off.GtesPerGt, 5000); return p; }, typeof(CorruptDataException), "entries per grain table"),
        ["capacity 0"] = new(() => { var p = t.GoodSparse(); W.PatchU64(p, W.Off.Capacity, 0); return p; }, typeof(CorruptDataException), "capacity is 0"),
        ["capacity 2^60 sectors"] = new(() => { var p = t.GoodSparse(); W.PatchU64(p, W.Off.Capacity, 1UL << 60); return p; }, typeof(CorruptDataException), "absurd"),
        ["capacity 2^50 sectors (huge grain directory)"] = new(() => { var p = t.GoodSparse(); W.PatchU64(p, W.Off.Capacity, 1UL << 50); return p; }, typeof(UnsupportedFeatureException), "grain directory of"),
        ["file shorter than overHead"] = new(() => { var p = t.GoodSparse(); W.PatchU64(p, W.Off.OverHead, 100000); return p; }, typeof(CorruptDataException), "truncated"),
        ["grain directory past EOF"] = new(() => { var p = t.GoodSparse(); W.PatchU64(p, W.Off.GdOffset, 100000); return p; }, typeof(CorruptDataException), "grain directory starts past the end"),
        ["redundant grain directory past EOF"] = new(() => { var p = t.GoodSparse(); W.PatchU32(p, W.Off.Flags, 0x3); W.PatchU64(p, W.Off.RgdOffset, 100000); return p; }, typeof(CorruptDataException), "redundant grain directory"),
        ["grain table past EOF"] = new(() => { var p = t.GoodSparse(); W.PatchU32(p, GdBytes(p), 0x7FFFFFF0); return p; }, typeof(CorruptDataException), "grain table", true),
        ["grain past EOF"] = new(() => { var p = t.GoodSparse(); W.PatchU32(p, GtBytes(p), 100000); return p; }, typeof(CorruptDataException), "past the end of the file", true),
        ["grain inside the metadata"] = new(() => { var p = t.GoodSparse(); W.PatchU32(p, GtBytes(p), 2); return p; }, typeof(CorruptDataException), "inside the metadata", true),
        ["stream without footer"] = new(() => { var p = t.GoodStream(); using (var f = new FileStream(p, FileMode.Open)) f.SetLength(f.Length - 512); return p; }, typeof(CorruptDataException), "invalid footer"),
        ["stream footer says GD_AT_END again"] = new(() => { var p = t.GoodStream(); long footer = new FileInfo(p).Length - 1024; W.PatchU64(p, footer + W.Off.GdOffset, ulong.MaxValue); return p; }, typeof(CorruptDataException), "GD_AT_END again"),
        ["compressed record of size 0"] = new(() => { var p = t.GoodStream(); W.PatchU32(p, RecordAt + 8, 0); return p; }, typeof(CorruptDataException), "record size is 0", true),
        ["compressed record larger than two grains"] = new(() => { var p = t.GoodStream(); W.PatchU32(p, RecordAt + 8, 200000); return p; }, typeof(CorruptDataException), "larger than twice", true),
        ["compressed record past EOF"] = new(() => { var p = t.GoodStream(); W.PatchU32(p, RecordAt + 8, 130000); return p; }, typeof(CorruptDataException), "runs past the end", true),
        ["compressed record with the wrong LBA"] = new(() => { var p = t.GoodStream(); W.PatchU64(p, RecordAt, 128); return p; }, typeof(CorruptDataException), "differs from the grain's LBA", true),
        ["compressed record with zlib garbage"] = new(() => { var p = t.GoodStream(); W.Patch(p, RecordAt + 14, W.Fill(64, 0xFF)); return p; }, typeof(CorruptDataException), "zlib", true),
        ["embedded descriptor over 20480 sectors"] = new(() => { var p = t.GoodSparse(); W.PatchU64(p, W.Off.DescriptorSize, 20481); return p; }, typeof(CorruptDataException), "embedded descriptor"),
        ["embedded descriptor past EOF"] = new(() => { var p = t.GoodSparse(); W.PatchU64(p, W.Off.DescriptorOffset, 100000); return p; }, typeof(CorruptDataException), "embedded descriptor"),
        ["text descriptor over 1 MiB"] = new(() => t.Text("big.vmdk", new string('#', (1 << 20) + 1)), typeof(CorruptDataException), "not a VMDK"),
        ["NUL bytes before version"] = new(() => t.Text("nul.vmdk", "\0\0version=1\nCID=1\n"), typeof(CorruptDataException), "not a VMDK"),
        ["line over 64 KiB"] = new(() => t.Text("long.vmdk", "version=1\nCID=" + new string('1', 70000) + "\n"), typeof(CorruptDataException), "line longer"),
        ["malformed CID"] = new(() => t.Text("cid.vmdk", Desc("RW 1 ZERO\n").Replace("CID=11112222", "CID=xyz")), typeof(CorruptDataException), "content id"),
        ["descriptor without extents"] = new(() => t.Text("noext.vmdk", Desc("")), typeof(CorruptDataException), "no extents"),
        ["unknown extent type"] = new(() => t.Text("type.vmdk", Desc("RW 16 WEIRD \"x\"\n")), typeof(UnsupportedFeatureException), "unknown extent type"),
        ["missing extent file"] = new(() => t.Text("miss.vmdk", Desc("RW 16 FLAT \"nowhere-flat.vmdk\" 0\n")), typeof(SourceUnavailableException), "nowhere-flat.vmdk"),
        ["FLAT without offset"] = new(() => { File.WriteAllBytes(Path.Combine(t._dir, "f-flat.vmdk"), new byte[8192]); return t.Text("nooff.vmdk", Desc("RW 16 FLAT \"f-flat.vmdk\"\n")); }, typeof(CorruptDataException), "without an OFFSET"),
        ["negative extent size"] = new(() => t.Text("neg.vmdk", Desc("RW -5 ZERO\n")), typeof(CorruptDataException), "invalid extent size"),
        ["absurd extent size"] = new(() => t.Text("absurd.vmdk", Desc("RW 9223372036854775807 ZERO\n")), typeof(CorruptDataException), "absurd"),
        ["VMFSRDM extent"] = new(() => t.Text("rdm.vmdk", Desc("RW 16 VMFSRDM \"x-rdm.vmdk\"\n")), typeof(UnsupportedFeatureException), "raw device mapping"),
        ["VMFSRAW extent"] = new(() => t.Text("raw.vmdk", Desc("RW 16 VMFSRAW \"x-rdmp.vmdk\"\n")), typeof(UnsupportedFeatureException), "raw device mapping"),
        ["VSANSPARSE extent"] = new(() => t.Text("vsan.vmdk", Desc("RW 16 VSANSPARSE \"x.vmdk\"\n")), typeof(UnsupportedFeatureException), "vSAN"),
        ["device extent"] = new(() => t.Text("dev.vmdk", Desc("RW 16 FLAT \"/dev/sda\" 0\n")), typeof(UnsupportedFeatureException), "device"),
        ["Windows device extent"] = new(() => t.Text("wdev.vmdk", Desc("RW 16 FLAT \"\\\\.\\PhysicalDrive0\" 0\n")), typeof(UnsupportedFeatureException), "device"),
        ["flat file shorter than the extent"] = new(() => { File.WriteAllBytes(Path.Combine(t._dir, "short-flat.vmdk"), new byte[4096]); return t.Text("short.vmdk", Desc("RW 16 FLAT \"short-flat.vmdk\" 4\n")); }, typeof(CorruptDataException), "truncated flat extent", Names: "short-flat.vmdk"),
        ["sparse extent file without magic"] = new(() => { File.WriteAllBytes(Path.Combine(t._dir, "nomagic.bin"), new byte[8192]); return t.Text("nomagic.vmdk", Desc("RW 16 SPARSE \"nomagic.bin\"\n")); }, typeof(CorruptDataException), "no known magic", Names: "nomagic.bin"),
        ["native snapshot"] = new(() => t.Text("native.vmdk", Desc("RW 16 ZERO\n").Replace("createType", "isNativeSnapshot=\"yes\"\ncreateType")), typeof(UnsupportedFeatureException), "isNativeSnapshot"),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Rejected_with_a_clear_typed_error(string name)
    {
        var c = BuildCases(this)[name];
        string path = c.Build();
        var before = Hashing.Snapshot(_dir);
        Exception? error = null;
        long allocated = 0;
        var work = Task.Run(() =>
        {
            long a0 = GC.GetAllocatedBytesForCurrentThread();
            error = Record.Exception(() =>
            {
                using var disk = DiskOpener.Open(path);
                Assert.True(c.AtRead, $"{name}: opened without error");
                var buf = new byte[disk.Length];
                disk.ReadAt(0, buf);
            });
            allocated = GC.GetAllocatedBytesForCurrentThread() - a0;
        });
        await work.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotNull(error);
        Assert.True(c.Exception == error.GetType(), $"{name}: expected {c.Exception.Name}, got {error.GetType().Name}: {error.Message}");
        var e = error;
        Assert.Contains(c.Fragment, e.Message);
        Assert.Contains(c.Names ?? Path.GetFileName(path), e.Message);
        if (e is CorruptDataException) Assert.Contains("offset", e.Message);
        Assert.True(allocated < 64L << 20, $"allocated {allocated} bytes");
        string[] args = c.AtRead ? ["export", path, Path.Combine(_dir, "out.raw")] : ["info", path];
        Assert.Equal(2, VmdkMount.Cli.Program.Main(args));
        File.Delete(Path.Combine(_dir, "out.raw"));
        Assert.Equal(before, Hashing.Snapshot(_dir));
    }

    [Fact]
    public void Unclean_shutdown_is_a_warning_and_the_disk_reads()
    {
        var p = GoodSparse();
        W.Patch(p, W.Off.Unclean, [1]);
        using var disk = DiskOpener.Open(p);
        Assert.Contains(disk.Warnings, w => w.Contains("uncleanShutdown"));
        var b = new byte[1];
        disk.ReadAt(5 * 4096, b);
        Assert.Equal(0x55, b[0]);
    }

    [Fact]
    public void Check_reports_grains_past_eof_overlaps_and_redundant_copy_differences()
    {
        var p = GoodSparse();
        using (var f = new FileStream(p, FileMode.Open))
        {
            // grain 1 points at grain 0's sector (overlap), grain 2 past the end of the file
            var gt = new byte[12];
            f.Position = GtBytes(p);
            f.ReadExactly(gt);
            BinaryPrimitives.WriteUInt32LittleEndian(gt.AsSpan(4), BinaryPrimitives.ReadUInt32LittleEndian(gt));
            BinaryPrimitives.WriteUInt32LittleEndian(gt.AsSpan(8), 100000);
            f.Position = GtBytes(p);
            f.Write(gt);
        }
        int rc = VmdkMount.Cli.Program.Main(["check", p]);
        Assert.Equal(1, rc);
        using var disk = (VmdkMount.Core.Disks.Vmdk.VmdkDisk)DiskOpener.Open(p);
        var problems = disk.Links[0].Check();
        Assert.Contains(problems, x => x.Contains("overlap"));
        Assert.Contains(problems, x => x.Contains("after the end"));

        // qemu writes a redundant GD; make one of its tables disagree
        string images = TestImages.Get("vmdk-qemu");
        string copy = Path.Combine(_dir, "rgd.vmdk");
        File.Copy(Path.Combine(images, "ms.vmdk"), copy);
        Assert.Equal(0, VmdkMount.Cli.Program.Main(["check", copy]));
        long rgd = (long)HeaderU64(copy, W.Off.RgdOffset) * 512;
        W.PatchU32(copy, rgd, 0);
        Assert.Equal(1, VmdkMount.Cli.Program.Main(["check", copy]));
    }
}

/// <summary>`check` walks the markers of a VMWare-layout stream file.</summary>
public sealed class StreamMarkerCheckTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("vmdk-markers");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Unknown_marker_type_is_reported_by_check_while_reads_still_work()
    {
        var raw = new byte[1 << 20];
        new Random(9).NextBytes(raw.AsSpan(0, 100_000));
        string path = Path.Combine(_dir, "s.vmdk");
        W.WriteVmwareStream(path, raw, 0x99);
        Assert.Equal(0, VmdkMount.Cli.Program.Main(["check", path]));
        // the GD marker sits 1 sector before the GD; the footer names the GD sector
        long footer = new FileInfo(path).Length - 1024;
        ulong gd;
        using (var f = File.OpenRead(path))
        {
            var b = new byte[8];
            f.Position = footer + W.Off.GdOffset;
            f.ReadExactly(b);
            gd = BinaryPrimitives.ReadUInt64LittleEndian(b);
        }
        W.PatchU32(path, (long)(gd - 1) * 512 + 12, 9);
        Assert.Equal(1, VmdkMount.Cli.Program.Main(["check", path]));
        using var disk = (VmdkMount.Core.Disks.Vmdk.VmdkDisk)DiskOpener.Open(path);
        Assert.Contains(disk.Links[0].Check(), p => p.Contains("unknown stream marker type 9"));
        var buf = new byte[raw.Length];
        disk.ReadAt(0, buf);
        Assert.Equal(raw, buf);
    }
}
