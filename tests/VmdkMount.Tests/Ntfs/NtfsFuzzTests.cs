using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.FileSystems.Ntfs;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Ntfs;

/// <summary>
/// Corrupted input for every decoder (seeded random flips and truncations of real structures from basic.img):
/// only typed errors (<see cref="VmdkMountException"/>), no hang, no crash, and the image file is never changed.
/// </summary>
public class NtfsFuzzTests
{
    private readonly string _image = Path.Combine(TestImages.Get("ntfs-basic"), "basic.img");

    private static void OnlyTyped(Action a)
    {
        try { a(); }
        catch (VmdkMountException) { }
    }

    private static byte[] Mutate(Random rnd, byte[] original)
    {
        var b = (byte[])original.Clone();
        int flips = rnd.Next(1, 9);
        for (int i = 0; i < flips; i++)
        {
            int at = rnd.Next(b.Length);
            b[at] = rnd.Next(3) switch { 0 => (byte)rnd.Next(256), 1 => 0xFF, _ => (byte)(b[at] ^ (1 << rnd.Next(8))) };
        }
        return b;
    }

    private (NtfsBootSector Boot, List<byte[]> Records) RealRecords()
    {
        using var disk = new RawDisk(_image);
        var sector = new byte[512];
        disk.ReadExactly(0, sector, "boot");
        var boot = NtfsBootSector.Parse(sector, "fuzz");
        var records = new List<byte[]>();
        for (int n = 0; n < 120; n++)
        {
            var r = new byte[boot.MftRecordSize];
            disk.ReadExactly(boot.MftLcn * boot.ClusterSize + n * (long)boot.MftRecordSize, r, "record");
            if (r.AsSpan(0, 4).SequenceEqual("FILE"u8)) records.Add(r);
        }
        return (boot, records);
    }

    /// <summary>Everything a reader does with one record: parse, then decode each attribute by type.</summary>
    private static void DecodeRecord(byte[] bytes, NtfsBootSector boot)
    {
        var rec = NtfsMftRecord.Parse(bytes, 7, 4096, "fuzz");
        foreach (var a in rec.Attributes)
        {
            OnlyTyped(() =>
            {
                if (a.NonResident)
                {
                    NtfsRunlistDecoder.Decode(a.Runlist.Span, a.LowestVcn, boot.ClusterCount, new List<NtfsRun>(), "fuzz", 0);
                    return;
                }
                switch (a.Type)
                {
                    case NtfsAttributeType.FileName: NtfsFileName.Parse(a.Value.Span, "fuzz", 0); break;
                    case NtfsAttributeType.IndexRoot: NtfsIndexRoot.Parse(a.Value.Span, "fuzz", 0); break;
                    case NtfsAttributeType.ReparsePoint: NtfsReparsePoint.Parse(a.Value.Span, "fuzz", 0); break;
                    case NtfsAttributeType.AttributeList: NtfsAttributeList.Parse(a.Value.Span, "fuzz", 0); break;
                    case NtfsAttributeType.Ea: NtfsExtendedAttributes.LinuxDevice(NtfsExtendedAttributes.Parse(a.Value.Span, "fuzz", 0)); break;
                    case NtfsAttributeType.StandardInformation: NtfsStandardInformation.TryParse(a.Value.Span); break;
                }
            });
        }
    }

    [Fact]
    public void Mft_records_and_their_attributes_with_flipped_bytes_give_typed_errors()
    {
        var (boot, records) = RealRecords();
        Assert.True(records.Count > 60);
        foreach (var r in records) DecodeRecord((byte[])r.Clone(), boot); // the originals decode cleanly
        var rnd = new Random(20261125);
        for (int i = 0; i < 20000; i++)
        {
            var original = records[rnd.Next(records.Count)];
            var bytes = Mutate(rnd, original);
            OnlyTyped(() => DecodeRecord(bytes, boot));
        }
    }

    [Fact]
    public void Truncated_and_random_records_give_typed_errors()
    {
        var (boot, records) = RealRecords();
        var rnd = new Random(7);
        for (int i = 0; i < 3000; i++)
        {
            var original = records[rnd.Next(records.Count)];
            var cut = original.AsSpan(0, rnd.Next(0, original.Length)).ToArray();
            OnlyTyped(() => DecodeRecord(cut, boot));
            var noise = new byte[original.Length];
            rnd.NextBytes(noise);
            "FILE"u8.CopyTo(noise);
            OnlyTyped(() => DecodeRecord(noise, boot));
        }
    }

    [Fact]
    public void Random_runlists_give_typed_errors_and_bounded_output()
    {
        var rnd = new Random(11);
        for (int i = 0; i < 50000; i++)
        {
            var b = new byte[rnd.Next(0, 64)];
            rnd.NextBytes(b);
            var runs = new List<NtfsRun>();
            OnlyTyped(() => NtfsRunlistDecoder.Decode(b, rnd.Next(0, 100), 1 << 20, runs, "fuzz", 0));
            Assert.True(runs.Count <= b.Length / 2);
            Assert.All(runs, r => Assert.True(r.Length > 0 && (r.IsSparse || r.Lcn + r.Length <= 1 << 20)));
        }
    }

    private (NtfsFileSystem Fs, RawDisk Disk) OpenInternal()
    {
        var disk = new RawDisk(_image);
        return ((NtfsFileSystem)NtfsFileSystem.Open(disk, "fuzz", new FileSystemOptions()), disk);
    }

    [Fact]
    public void Index_blocks_with_flipped_bytes_give_typed_errors()
    {
        var (fs, disk) = OpenInternal();
        using var _ = disk;
        var dir1 = fs.Lookup(fs.RootId, "dir1")!;
        var file = fs.LoadFile(dir1.Id);
        var alloc = file.GetIndexAllocation(fs);
        int blockSize = file.GetIndexRoot().BlockSize;
        Assert.True(alloc.Length >= blockSize, "dir1 should have INDX blocks");
        var block = new byte[blockSize];
        alloc.Read(0, block);
        NtfsIndexAllocation.Parse((byte[])block.Clone(), 0, "fuzz", 0);
        var rnd = new Random(3);
        for (int i = 0; i < 5000; i++)
        {
            var b = Mutate(rnd, block);
            OnlyTyped(() => NtfsIndexAllocation.Parse(b, 0, "fuzz", 0));
            var cut = block.AsSpan(0, rnd.Next(blockSize)).ToArray();
            OnlyTyped(() => NtfsIndexNode.Parse(cut, rnd.Next(0, 64), "fuzz", 0));
        }
    }

    [Fact]
    public void Lznt1_units_with_flipped_bytes_and_truncation_give_typed_errors()
    {
        var (fs, disk) = OpenInternal();
        using var _ = disk;
        var comp = fs.Lookup(fs.Lookup(fs.RootId, "compdir")!.Id, "comp.txt")!;
        var data = fs.LoadFile(comp.Id).Pieces(NtfsAttributeType.Data, "").Single();
        var runs = new List<NtfsRun>();
        NtfsRunlistDecoder.Decode(data.Runlist.Span, 0, fs.Boot.ClusterCount, runs, "t", 0);
        var first = runs.First(r => !r.IsSparse);
        Assert.True(first.Length < 16, "the first unit of comp.txt should be compressed");
        var packed = new byte[first.Length * fs.Boot.ClusterSize];
        disk.ReadExactly(first.Lcn * fs.Boot.ClusterSize, packed, "unit");
        var output = new byte[16 * fs.Boot.ClusterSize];
        NtfsLznt1.Decompress(packed, output, "t", 0);
        var expected = new byte[output.Length];
        fs.Read(comp.Id, 0, expected);
        Assert.Equal(expected, output);
        var rnd = new Random(5);
        for (int i = 0; i < 20000; i++)
        {
            var b = i % 4 == 0 ? packed.AsSpan(0, rnd.Next(packed.Length)).ToArray() : Mutate(rnd, packed);
            OnlyTyped(() => NtfsLznt1.Decompress(b, output, "fuzz", 0));
        }
        for (int i = 0; i < 2000; i++)
        {
            var b = new byte[rnd.Next(0, 9000)];
            rnd.NextBytes(b);
            OnlyTyped(() => NtfsLznt1.Decompress(b, output, "fuzz", 0));
        }
    }

    /// <summary>Flips bytes in the $MFT zone of the volume as it is read: every record, runlist and index root is at risk.</summary>
    private sealed class CorruptingReader(IReadAt inner, Dictionary<long, byte> flips) : IReadAt
    {
        public long Length => inner.Length;

        public int ReadAt(long offset, Span<byte> destination)
        {
            int n = inner.ReadAt(offset, destination);
            foreach (var (at, x) in flips)
                if (at >= offset && at < offset + n) destination[(int)(at - offset)] ^= x;
            return n;
        }
    }

    [Fact]
    public async Task Whole_volume_with_a_corrupted_mft_walks_with_typed_errors_only_and_leaves_the_image_unchanged()
    {
        string before = Hashing.Sha256File(_image);
        using var disk = new RawDisk(_image);
        var sector = new byte[512];
        disk.ReadExactly(0, sector, "boot");
        var boot = NtfsBootSector.Parse(sector, "fuzz");
        long mftStart = boot.MftLcn * boot.ClusterSize;
        var indexBlocks = IndexBlockOffsets();
        Assert.NotEmpty(indexBlocks);
        var rnd = new Random(int.TryParse(Environment.GetEnvironmentVariable("NTFS_FUZZ_SEED"), out int seed) ? seed : 99);
        int opened = 0;
        int iterations = int.TryParse(Environment.GetEnvironmentVariable("NTFS_FUZZ_ITERATIONS"), out int it) ? it : 60;
        for (int iter = 0; iter < iterations; iter++)
        {
            var flips = new Dictionary<long, byte>();
            int count = rnd.Next(1, 40);
            for (int i = 0; i < count; i++)
                flips[rnd.Next(2) == 0 ? mftStart + rnd.Next(0, 120 * boot.MftRecordSize) : indexBlocks[rnd.Next(indexBlocks.Count)] + rnd.Next(0, 4096)] = (byte)rnd.Next(1, 256);
            var source = new CorruptingReader(disk, flips);
            var task = Task.Run(() =>
            {
                IFileSystem fs;
                try { fs = NtfsFileSystem.Open(source, $"fuzz-{iter}", new FileSystemOptions { ShowSystemFiles = true }); }
                catch (VmdkMountException) { return false; }
                WalkEverything(fs);
                return true;
            });
            var done = await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(60)));
            Assert.True(done == task, $"iteration {iter} hung");
            if (await task) opened++;
        }
        Assert.True(opened > 10, $"only {opened} corrupted volumes opened; the walk was hardly exercised");
        Assert.Equal(before, Hashing.Sha256File(_image));
    }

    /// <summary>Where the INDX blocks of every directory live on the volume (found with the clean image).</summary>
    private List<long> IndexBlockOffsets()
    {
        var (fs, disk) = OpenInternal();
        using var _ = disk;
        var result = new List<long>();
        var pending = new Stack<long>([fs.RootId]);
        while (pending.Count > 0)
        {
            var dir = fs.LoadFile(pending.Pop());
            if (dir.HasAttribute(NtfsAttributeType.IndexAllocation, "$I30"))
            {
                var alloc = dir.GetIndexAllocation(fs);
                for (long off = 0; off < alloc.Length; off += 4096)
                    if (alloc.VolumeOffsetOf(off) is var v and >= 0) result.Add(v);
            }
            foreach (var e in fs.List(dir.Number))
                if (e.Node.Type == FsNodeType.Directory) pending.Push(e.Node.Id);
        }
        return result;
    }

    private static void WalkEverything(IFileSystem fs)
    {
        var buf = new byte[65536];
        var pending = new Stack<long>();
        var seen = new HashSet<long>();
        pending.Push(fs.RootId);
        int budget = 5000;
        while (pending.Count > 0 && budget-- > 0)
        {
            long dir = pending.Pop();
            List<FsDirEntry> entries = [];
            OnlyTyped(() => entries = fs.List(dir).ToList());
            foreach (var e in entries)
            {
                OnlyTyped(() => fs.Lookup(dir, e.Name));
                if (!seen.Add(e.Node.Id)) continue;
                OnlyTyped(() => fs.Stat(e.Node.Id));
                switch (e.Node.Type)
                {
                    case FsNodeType.Directory: pending.Push(e.Node.Id); break;
                    case FsNodeType.Symlink: OnlyTyped(() => fs.Links().ReadLink(e.Node.Id)); break;
                    case FsNodeType.File: OnlyTyped(() => fs.Read(e.Node.Id, 0, buf)); OnlyTyped(() => fs.Read(e.Node.Id, Math.Max(0, e.Node.Size - 100), buf)); break;
                }
                OnlyTyped(() =>
                {
                    foreach (var s in fs.Streams().ListStreams(e.Node.Id)) OnlyTyped(() => fs.Streams().ReadStream(e.Node.Id, s.Name, 0, buf));
                });
            }
        }
    }

    [Fact]
    public void Truncated_volume_gives_typed_errors()
    {
        using var disk = new RawDisk(_image);
        foreach (long len in new long[] { 0, 100, 512, 4096, 1 << 20, 4 << 20, 16 << 20 })
        {
            OnlyTyped(() =>
            {
                var fs = NtfsFileSystem.Open(new SubRange(disk, 0, len), "cut", new FileSystemOptions());
                WalkEverything(fs);
            });
        }
    }
}
