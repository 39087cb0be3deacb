using System.Buffers.Binary;
using System.Text.RegularExpressions;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.FileSystems.Ext;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Disks;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Ext;

/// <summary>
/// Damaged inodes, extent headers, directory records, superblocks and truncated volumes: a typed error that names
/// the structure and offset, never a hang, a crash or another exception type. Structures are located with debugfs.
/// </summary>
public sealed class ExtCorruptionTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("extbad");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Copy(string name)
    {
        string copy = Path.Combine(_dir, name + "-" + Guid.NewGuid().ToString("N")[..8] + ".img");
        Tool.Run("cp", "--sparse=always", Path.Combine(TestImages.Get("ext-basic"), name + ".img"), copy);
        return copy;
    }

    private static string Debugfs(string img, string command) => Tool.Run("debugfs", "-R", command, img).StdOut;

    /// <summary>Byte offset of an inode in the image, from `debugfs imap`.</summary>
    private static long InodeOffset(string img, string path, int blockSize)
    {
        var m = Regex.Match(Debugfs(img, $"imap {path}"), @"located at block (\d+), offset 0x([0-9a-f]+)");
        Assert.True(m.Success, "debugfs imap output not understood");
        return long.Parse(m.Groups[1].Value) * blockSize + Convert.ToInt64(m.Groups[2].Value, 16);
    }

    private static long InodeNumber(string img, string path) =>
        long.Parse(Regex.Match(Debugfs(img, $"stat {path}"), @"Inode: (\d+)").Groups[1].Value);

    private static void Patch(string img, long offset, params byte[] bytes)
    {
        using var f = new FileStream(img, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(bytes);
    }

    private static byte[] Le16(int v) { var b = new byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v); return b; }
    private static byte[] Le32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); return b; }

    private static T Bounded<T>(Func<T> work)
    {
        var task = Task.Run(work);
        Assert.True(task.Wait(TimeSpan.FromSeconds(60)), "did not finish: hang?");
        return task.Result;
    }

    private static CorruptDataException ReadAllFails(IFileSystem fs, long id)
    {
        return Bounded(() => Assert.Throws<CorruptDataException>(() =>
        {
            var buf = new byte[1 << 16];
            long pos = 0;
            int n;
            while ((n = fs.Read(id, pos, buf)) > 0) pos += n;
        }));
    }

    [Fact]
    public void Bad_extent_magic_names_the_inode_and_offset()
    {
        string img = Copy("ext4_4k");
        long off = InodeOffset(img, "/big.bin", 4096);
        long ino = InodeNumber(img, "/big.bin");
        Patch(img, off + 0x28, 0x0B, 0xF3);
        var (disk, fs) = ExtOracle.Open(img);
        using (disk) using (fs)
        {
            var node = fs.Lookup(fs.RootId, "big.bin")!;
            var ex = ReadAllFails(fs, node.Id);
            Assert.Contains($"inode {ino}", ex.Message);
            Assert.Equal(off + 0x28, ex.Offset);
            Assert.Contains("magic", ex.Message);
            // the damage is local: other files still read
            Assert.Equal(10, fs.Read(fs.Lookup(fs.RootId, "small.txt")!.Id, 0, new byte[64]));
            Assert.Contains(fs.Warnings, w => w.Contains("checksum mismatch", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Absurd_extent_entry_count_is_corrupt()
    {
        string img = Copy("ext4_4k");
        long off = InodeOffset(img, "/big.bin", 4096);
        Patch(img, off + 0x28 + 2, Le16(200));
        var (disk, fs) = ExtOracle.Open(img);
        using (disk) using (fs)
            Assert.Contains("entries", ReadAllFails(fs, fs.Lookup(fs.RootId, "big.bin")!.Id).Message);
    }

    [Fact]
    public void Extent_node_pointing_at_itself_is_caught_by_the_depth_check()
    {
        string img = Copy("ext4_kernel");
        // the root's first index entry points at a depth-2 node: make that node's first entry point back at itself
        long rootOff = InodeOffset(img, "/frag.bin", 1024);
        var raw = File.ReadAllBytes(img).AsSpan();
        uint firstChild = BinaryPrimitives.ReadUInt32LittleEndian(raw[(int)(rootOff + 0x28 + 12 + 4)..]);
        Assert.Contains("Level", Debugfs(img, "ex /frag.bin")); // a tree with index levels (depth 3, per the image script)
        Patch(img, firstChild * 1024 + 12 + 4, Le32(firstChild));
        var (disk, fs) = ExtOracle.Open(img);
        using (disk) using (fs)
        {
            var ex = ReadAllFails(fs, fs.Lookup(fs.RootId, "frag.bin")!.Id);
            Assert.Contains("depth", ex.Message);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(0xFFF0)]
    [InlineData(6)]
    public void Bad_directory_record_length_is_corrupt(int recLen)
    {
        string img = Copy("ext4_4k");
        long block = long.Parse(Regex.Match(Debugfs(img, "blocks /dir1"), @"(\d+)").Groups[1].Value);
        Patch(img, block * 4096 + 4, Le16(recLen));
        var (disk, fs) = ExtOracle.Open(img);
        using (disk) using (fs)
        {
            var dir1 = fs.Lookup(fs.RootId, "dir1")!;
            var ex = Bounded(() => Assert.Throws<CorruptDataException>(() => fs.List(dir1.Id)));
            Assert.Contains("record length", ex.Message);
            Assert.Equal(block * 4096 + 4, ex.Offset);
            Assert.Throws<CorruptDataException>(() => fs.Lookup(dir1.Id, "file_number_1.txt"));
        }
    }

    [Fact]
    public void Damaged_inode_is_a_typed_error_and_its_siblings_still_list()
    {
        string img = Copy("ext4_4k");
        long off = InodeOffset(img, "/tiny.txt", 4096);
        Patch(img, off, Le16(0xF1ED)); // no such file type
        var (disk, fs) = ExtOracle.Open(img);
        using (disk) using (fs)
        {
            var entries = fs.List(fs.RootId).ToList();
            var tiny = entries.Single(e => e.Name == "tiny.txt");
            Assert.Equal(FsNodeType.Other, tiny.Node.Type);
            Assert.Contains(entries, e => e.Name == "small.txt" && e.Node.Type == FsNodeType.File);
            var ex = Assert.Throws<CorruptDataException>(() => fs.Stat(tiny.Node.Id));
            Assert.Equal(off, ex.Offset);
            Assert.Contains(fs.Warnings, w => w.Contains("invalid file type", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Checksum_mismatch_is_a_warning_not_an_error()
    {
        string img = Copy("ext4_4k");
        long off = InodeOffset(img, "/small.txt", 4096);
        Patch(img, off + 0x02, Le16(777)); // uid low half, checksum left stale
        var (disk, fs) = ExtOracle.Open(img);
        using (disk) using (fs)
        {
            var small = fs.Lookup(fs.RootId, "small.txt")!;
            Assert.Equal(777u, small.Uid);
            Assert.Contains(fs.Warnings, w => w.Contains("checksum mismatch", StringComparison.Ordinal) && w.Contains($"inode {small.Id}"));
        }
    }

    [Theory]
    [InlineData("ext4_4k", "crc32c")]   // metadata_csum
    [InlineData("ext4_gdtcsum", "crc16")] // uninit_bg
    public void Group_descriptor_checksum_mismatch_is_a_warning(string name, string kind)
    {
        string img = Copy(name);
        Patch(img, 4096 + 0x0C, 0x34, 0x12); // group 0's free block count, checksum left stale
        var (disk, fs) = ExtOracle.Open(img);
        using (disk) using (fs)
        {
            Assert.NotNull(fs.Lookup(fs.RootId, "small.txt"));
            Assert.Contains(fs.Warnings, w => w.Contains("group descriptor 0 checksum", StringComparison.Ordinal)
                && (kind == "crc16") == w.Contains("crc16", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Encrypted_directory_is_listed_with_a_reason()
    {
        string img = Copy("ext4_4k");
        Tool.Run("debugfs", "-w", "-R", "sif /dir1/sub flags 0x80800", img);
        var (disk, fs) = ExtOracle.Open(img);
        using (disk) using (fs)
        {
            var sub = fs.Lookup(fs.Lookup(fs.RootId, "dir1")!.Id, "sub")!;
            Assert.True(sub.Attributes.HasFlag(FsAttributes.Encrypted));
            var ex = Assert.Throws<FileReadException>(() => fs.List(sub.Id));
            Assert.Contains("encrypted", ex.Message);
        }
    }

    [Fact]
    public void Bad_superblock_and_refused_features_are_typed()
    {
        string img = Copy("ext4_1k");
        Patch(img, 1024 + 0x38, 0, 0);
        using (var disk = new RawDisk(img))
            Assert.Throws<CorruptDataException>(() => ExtFileSystem.Open(disk, "bad", new FileSystemOptions()));

        string jdev = Path.Combine(_dir, "journal.img");
        Tool.Run("mke2fs", "-q", "-F", "-O", "journal_dev", "-b", "4096", jdev, "8M");
        using (var disk = new RawDisk(jdev))
        {
            var ex = Assert.Throws<UnsupportedFeatureException>(() => ExtFileSystem.Open(disk, "jdev", new FileSystemOptions()));
            Assert.Contains("journal_dev", ex.Message);
        }
    }

    [Fact]
    public void Truncated_volume_opens_with_a_warning_and_fails_per_file()
    {
        string img = Copy("ext4_1k");
        using var disk = new RawDisk(img);
        var fs = ExtFileSystem.Open(new SubRange(disk, 0, 6 << 20), "cut", new FileSystemOptions());
        Assert.Contains(fs.Warnings, w => w.Contains("shorter", StringComparison.Ordinal));
        Bounded(() => { Walk(fs); return 0; });
    }

    /// <summary>Random bytes over the metadata of small images, many seeds: only our typed errors, no hang.</summary>
    [Theory]
    [InlineData("ext4_1k")]
    [InlineData("ext2_1k")]
    [InlineData("ext4_inline")]
    public void Random_metadata_damage_gives_only_typed_errors(string name)
    {
        string img = Copy(name);
        var pristine = File.ReadAllBytes(img);
        int limit = Math.Min(pristine.Length, 2 << 20); // superblock, descriptors, bitmaps, inode tables, first dirs
        for (int seed = 1; seed <= 12; seed++)
        {
            var rng = new Random(seed);
            var bytes = (byte[])pristine.Clone();
            for (int k = 0; k < 400; k++) bytes[1024 + rng.Next(limit - 1024)] = (byte)rng.Next(256);
            if (seed % 3 == 0) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(1024 + 0x38), 0xEF53);
            File.WriteAllBytes(img, bytes);
            using var disk = new RawDisk(img);
            Bounded(() =>
            {
                try
                {
                    var fs = ExtFileSystem.Open(disk, name, new FileSystemOptions());
                    Walk(fs);
                }
                catch (VmdkMountException) { }
                return 0;
            });
        }
    }

    /// <summary>Lists and reads everything reachable, swallowing only our typed errors; bounded by a visited set.</summary>
    private static void Walk(IFileSystem fs)
    {
        var seen = new HashSet<long>();
        var pending = new Stack<long>();
        pending.Push(fs.RootId);
        var buf = new byte[1 << 16];
        int budget = 20_000;
        while (pending.Count > 0 && budget-- > 0)
        {
            long dir = pending.Pop();
            if (!seen.Add(dir)) continue;
            IEnumerable<FsDirEntry> entries;
            try { entries = fs.List(dir).ToList(); }
            catch (VmdkMountException) { continue; }
            foreach (var e in entries)
            {
                try
                {
                    if (e.Node.Type == FsNodeType.Directory) pending.Push(e.Node.Id);
                    else if (e.Node.Type == FsNodeType.File)
                    {
                        long pos = 0; int n;
                        while (pos < 16 << 20 && (n = fs.Read(e.Node.Id, pos, buf)) > 0) pos += n;
                    }
                    else if (e.Node.Type == FsNodeType.Symlink) fs.Links().ReadLink(e.Node.Id);
                    fs.Lookup(dir, e.Name);
                }
                catch (VmdkMountException) { }
            }
        }
    }
}
