using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.FileSystems.Ntfs;
using VmdkMount.Core.Mounting;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Ntfs;

/// <summary>
/// The Windows-formatted NTFS inside the VMware-made vmdk-rs images (../shared/images-real/vmdk-rs/README.md: MBR,
/// NTFS "test_disk" at sector 128, 18304 sectors, three user files), read through the VMDK engine and, for the
/// tests that need a writable copy or the bare reader, from a qemu-img flattened raw copy. The expected listing,
/// records and hashes are the README's (sleuthkit fls/icat).
/// </summary>
public sealed class NtfsRealImageTests : IDisposable
{
    private const long PartitionOffset = 128 * 512;
    private const long PartitionLength = 18304 * 512;
    private readonly string _scratch = RepoPaths.NewScratch("ntfs-real");
    private readonly string _raw;

    public NtfsRealImageTests()
    {
        string vmdk = Path.Combine(RepoPaths.RealImages, "vmdk-rs", "monolithicSparse.vmdk");
        _raw = Path.Combine(_scratch, "disk.raw");
        Tool.Run("qemu-img", "convert", "-f", "vmdk", "-O", "raw", vmdk, _raw);
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static readonly (string Path, long Record, long Size, string Sha256)[] Files =
    [
        ("/partition_type.rs", 38, 10916, "866f56d0a773ab4e484f1234ed8a669144b992e5ceafce0d9efb96904f668d28"),
        ("/System Volume Information/WPSettings.dat", 35, 12, "ad3279f1af8ec7cfd7d55aaaeb19d9fb973c8032c755ee66fc45a3d8ea603256"),
        ("/vmdk/VMWare Virtual Disk Format (VMDK).asciidoc", 37, 54663, "943b60dca318437bbde46ea9c65a68099603919e1f03300497b09ed91d2c0214"),
    ];

    [Fact]
    public void Windows_formatted_volume_lists_and_reads_as_the_readme_says()
    {
        using var disk = new RawDisk(_raw);
        using var fs = NtfsFileSystem.Open(new SubRange(disk, PartitionOffset, PartitionLength), "vmdk-rs:p1", new FileSystemOptions());

        Assert.Equal("test_disk", fs.Label);
        var root = fs.List(fs.RootId).Select(e => (e.Name, e.Node.Id, e.Node.Type)).Order().ToList();
        Assert.Equal([("System Volume Information", 34, FsNodeType.Directory), ("partition_type.rs", 38, FsNodeType.File), ("vmdk", 36, FsNodeType.Directory)], root);
        foreach (var (path, record, size, sha) in Files)
        {
            var node = PathResolver.Resolve(fs, path, true, path);
            Assert.Equal(record, node.Id);
            Assert.Equal(size, node.Size);
            var buf = new byte[size + 100];
            int n = fs.Read(node.Id, 0, buf);
            Assert.Equal(size, n);
            Assert.Equal(sha, Hashing.Sha256(buf.AsSpan(0, n)));
        }
        var created = fs.Stat(38).Created!.Value.ToDateTime();
        Assert.Equal(new DateTime(2023, 4, 22, 19, 57, 11, DateTimeKind.Utc), new DateTime(created.Ticks - created.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc));
    }

    [Fact]
    public void Metafiles_fls_lists_are_reachable_with_the_same_records()
    {
        using var disk = new RawDisk(_raw);
        using var fs = NtfsFileSystem.Open(new SubRange(disk, PartitionOffset, PartitionLength), "vmdk-rs:p1", new FileSystemOptions { ShowSystemFiles = true });
        // README "Full listing (34 lines) including metafiles" (fls -r -p -o 128), streams and index attributes aside
        var expected = new (string Path, long Record)[]
        {
            ("$AttrDef", 4), ("$BadClus", 8), ("$Bitmap", 6), ("$Boot", 7), ("$Extend", 11), ("$Extend/$Deleted", 29),
            ("$Extend/$ObjId", 25), ("$Extend/$Quota", 24), ("$Extend/$Reparse", 26), ("$Extend/$RmMetadata", 27),
            ("$Extend/$RmMetadata/$Repair", 28), ("$Extend/$RmMetadata/$Txf", 31), ("$Extend/$RmMetadata/$TxfLog", 30),
            ("$Extend/$RmMetadata/$TxfLog/$Tops", 32), ("$Extend/$RmMetadata/$TxfLog/$TxfLog.blf", 33), ("$LogFile", 2),
            ("$MFT", 0), ("$MFTMirr", 1), ("$Secure", 9), ("$UpCase", 10), ("$Volume", 3),
        };
        foreach (var (path, record) in expected)
            Assert.Equal(record, PathResolver.Resolve(fs, "/" + path, false, path).Id);
        Assert.Contains(fs.Streams().ListStreams(10), s => s.Name == "$Info");
        Assert.Contains(fs.Streams().ListStreams(28), s => s.Name == "$Config");
        Assert.Contains(fs.Streams().ListStreams(8), s => s.Name == "$Bad");
        var rootNames = fs.List(fs.RootId).Select(e => e.Name).ToHashSet();
        Assert.Equal(expected.Where(e => !e.Path.Contains('/')).Select(e => e.Path).Concat(["System Volume Information", "partition_type.rs", "vmdk"]).ToHashSet(), rootNames);
        // the Windows-written volume is clean: no warnings
        Assert.Empty(fs.Warnings);
    }

    [Fact]
    public void A_log_file_that_is_not_clean_still_opens_with_a_warning()
    {
        // Windows left a clean restart area (flags bit 0x0002); clear that bit in the first restart page, whose
        // cluster sleuthkit reports, as a crash or hibernation would leave it.
        var istat = Tool.Run("istat", "-o", "128", _raw, "2").StdOut.Split('\n');
        int at = Array.FindIndex(istat, l => l.StartsWith("Type: $DATA", StringComparison.Ordinal));
        long firstCluster = long.Parse(istat[at + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]);
        long page = PartitionOffset + firstCluster * 4096;
        using (var f = new FileStream(_raw, FileMode.Open, FileAccess.ReadWrite))
        {
            var head = new byte[4096];
            f.Position = page;
            f.ReadExactly(head);
            Assert.Equal("RSTR"u8.ToArray(), head[..4]);
            int restartArea = BitConverter.ToUInt16(head, 24);
            int flagsAt = restartArea + 14;
            Assert.Equal(2, head[flagsAt] & 2);
            f.Position = page + flagsAt;
            f.WriteByte((byte)(head[flagsAt] & ~2));
        }
        using var disk = new RawDisk(_raw);
        using var fs = NtfsFileSystem.Open(new SubRange(disk, PartitionOffset, PartitionLength), "vmdk-rs:p1", new FileSystemOptions());
        Assert.Contains(fs.Warnings, w => w.Contains("$LogFile", StringComparison.Ordinal) && w.Contains("not", StringComparison.Ordinal));
        Assert.Equal(Files[0].Sha256, Hashing.Sha256(ReadAll(fs, 38)));
    }

    private static byte[] ReadAll(IFileSystem fs, long id)
    {
        var buf = new byte[fs.Stat(id).Size];
        Assert.Equal(buf.Length, fs.Read(id, 0, buf));
        return buf;
    }

    [Theory]
    [InlineData("monolithicSparse.vmdk")]
    [InlineData("twoGbMaxExtentSparse.vmdk")]
    [InlineData("streamOptimized.vmdk")]
    public void Every_vmware_variant_reads_through_the_vmdk_engine(string file)
    {
        using var mounted = MountedDisk.Open(Path.Combine(RepoPaths.RealImages, "vmdk-rs", file));
        var volume = Assert.Single(mounted.Layout.Volumes, v => v.FileSystem == "ntfs");
        Assert.Equal(PartitionOffset, volume.Offset);
        var fs = mounted.OpenFileSystem(volume.Id);
        Assert.Equal("test_disk", fs.Label);
        foreach (var (path, record, size, sha) in Files)
        {
            var node = PathResolver.Resolve(fs, path, true, path);
            Assert.Equal(record, node.Id);
            Assert.Equal(sha, Hashing.Sha256(ReadAll(fs, node.Id)));
        }
    }

    [Fact]
    public void Reads_through_the_mounted_disk_and_volume_discovery()
    {
        using var mounted = MountedDisk.Open(_raw, new DiskOpenOptions { Raw = true });
        var volume = Assert.Single(mounted.Layout.Volumes, v => v.FileSystem == "ntfs");
        var fs = mounted.OpenFileSystem(volume.Id);
        Assert.Equal("test_disk", fs.Label);
        var node = PathResolver.Resolve(fs, "/VMDK/vmware virtual disk format (vmdk).ASCIIDOC", true, "x");
        var buf = new byte[60000];
        int n = fs.Read(node.Id, 0, buf);
        Assert.Equal(Files[2].Sha256, Hashing.Sha256(buf.AsSpan(0, n)));
    }
}
