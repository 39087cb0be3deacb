using VmdkMount.Core.Volumes;
using System.Text;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.FileSystems.Ntfs;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Vmdk.Writers;

namespace VmdkMount.Fuzz.Harnesses;

/// <summary>
/// Seeds made at run time from the test images (`images/*.sh`, built into build/test-images): each harness's own
/// walk is run over a real image through a <see cref="ReadTrace"/>, and the sectors it read become the seed, so a
/// seed is the image's metadata (and a little data) in a few KiB. COWD and seSparse seeds come from the test suite's
/// writers (no tool writes those formats), descriptor and NBD seeds are written here.
/// </summary>
public static class FuzzSeeds
{
    /// <summary>AFL refuses inputs over 1 MiB; a seed keeps the sectors read first (superblock, root, first directories) below that.</summary>
    private const int MaxSeedSectors = 1800;

    private static FuzzSeed Traced(string name, IReadAt image, Action<IReadAt> walk)
    {
        var trace = new ReadTrace(image);
        walk(trace);
        return new FuzzSeed(name, SparseInput.Encode(image, trace.Sectors.Take(MaxSeedSectors)));
    }

    private static IEnumerable<string> Files(string folder, params string[] names) =>
        names.Select(n => Path.Combine(folder, n)).Where(File.Exists);

    public static IEnumerable<FuzzSeed> Volumes(Func<string, string> images, string set, string[] kinds, params string[] names)
    {
        foreach (var path in Files(images(set), names))
        {
            using var file = LocalSourceStore.OpenFile(path);
            yield return Traced(set + "-" + Path.GetFileNameWithoutExtension(path), file, v => FileSystemWalk.Run(v, kinds, readPerFile: 512, check: false, maxNodes: 48));
        }
    }

    public static IEnumerable<FuzzSeed> Ext(Func<string, string> images)
    {
        string[] kinds = [FileSystemKinds.Ext4, FileSystemKinds.Ext3, FileSystemKinds.Ext2];
        var seeds = Volumes(images, "ext-basic", kinds, "ext2_1k.img", "ext3_4k.img", "ext4_4k.img", "ext4_1k.img", "ext4_inline.img",
            "ext4_metabg.img", "ext4_bigalloc.img", "ext4_noext.img", "ext4_gdtcsum.img", "ext4_casefold.img", "ext4_32.img");
        var bigDir = images("ext-bigdir");
        return seeds.Concat(Volumes(images, "ext-bigdir", kinds, Directory.GetFiles(bigDir, "*.img").Select(Path.GetFileName).Order().Take(2).ToArray()!));
    }

    public static IEnumerable<FuzzSeed> Xfs(Func<string, string> images) =>
        Volumes(images, "xfs-basic", [FileSystemKinds.Xfs], "v4.img", "v5_1k.img", "v5_4k.img", "v5_dir16k.img", "v5_n64_old.img")
            .Concat(Volumes(images, "xfs-xattr", [FileSystemKinds.Xfs], "v5_4k.img"));

    public static IEnumerable<FuzzSeed> Disks(Func<string, string> images, string set)
    {
        foreach (var path in Directory.GetFiles(images(set), "*.img").Order())
        {
            using var file = LocalSourceStore.OpenFile(path);
            yield return Traced(set + "-" + Path.GetFileNameWithoutExtension(path), file, PartitionWalk.Run);
        }
    }

    /// <summary>Every hosted sparse file of the VMDK image sets, split by whether it is compressed (streamOptimized).</summary>
    public static IEnumerable<FuzzSeed> VmdkFiles(Func<string, string> images, bool stream)
    {
        string[] sets = ["vmdk-qemu", "vmdk-deltas-bases", "fat-vmdk", "xfs-xattr"];
        foreach (var set in sets)
            foreach (var path in Directory.GetFiles(images(set), "*.vmdk").Order())
            {
                if (new FileInfo(path).Length > 64L << 20) continue;
                using var file = LocalSourceStore.OpenFile(path);
                SparseExtentHeader? header;
                try
                {
                    header = SparseHeaderReader.FirstHeader(file, path);
                }
                catch (Exception e) when (ExpectedErrors.IsExpected(e))
                {
                    continue;
                }
                if (header is null || header.IsCompressed != stream) continue;
                var seed = Traced(set + "-" + Path.GetFileNameWithoutExtension(path), file, f => VmdkWalk.Run(f, stream, maxDataBytes: 16 * 1024));
                // a piece of a split disk does not open alone (its embedded descriptor is blank): not a seed of this walk
                if (VmdkWalk.LastRuns > 0) yield return seed;
            }
    }

    private static FuzzSeed Written(string name, Action<string> write)
    {
        string path = Path.Combine(Path.GetTempPath(), $"vmdkmount-fuzz-seed-{Environment.ProcessId}-{name}");
        try
        {
            write(path);
            var bytes = File.ReadAllBytes(path);
            return new FuzzSeed(name, SparseInput.Encode(new MemoryReadAt(bytes), Enumerable.Range(0, (bytes.Length + 511) / 512).Select(i => (long)i)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] Pattern(int length, int seed)
    {
        var b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte)(seed * 31 + i * 7 + (i >> 8));
        return b;
    }

    public static IEnumerable<FuzzSeed> Cowd()
    {
        yield return Written("cowd-small", p =>
        {
            var w = new CowdWriter(3 * 4096, 1);
            foreach (long g in new long[] { 0, 1, 2, 700, 4096, 12287 }) w.AddGrain(g, Pattern(512, (int)g));
            w.Write(p);
        });
        yield return Written("cowd-grain8", p =>
        {
            var w = new CowdWriter(8 * 4096, 8);
            foreach (long g in new long[] { 0, 3, 4095 }) w.AddGrain(g, Pattern(4096, (int)g));
            w.Write(p);
        });
    }

    public static IEnumerable<FuzzSeed> SeSparse()
    {
        yield return Written("sesparse-small", p =>
            new SeSparseWriter(2 * 4096 * 8).AddData(0, Pattern(4096, 1), 3).AddData(1, Pattern(4096, 2), 0)
                .AddData(4097, Pattern(4096, 3), 1).AddZero(5).AddUnmapped(6).AddData(8191, Pattern(4096, 4), 2).Write(p));
    }

    /// <summary>Real descriptors of the test images, and the extent kinds, encodings and spellings the parser knows.</summary>
    public static IEnumerable<FuzzSeed> Descriptors(Func<string, string> images)
    {
        foreach (var path in Directory.GetFiles(images("vmdk-qemu"), "*.vmdk").Order())
        {
            if (new FileInfo(path).Length > 4096) continue;
            var text = File.ReadAllBytes(path);
            if (text.Length < 4 || text.AsSpan(0, 4).SequenceEqual("KDMV"u8)) continue;
            yield return new FuzzSeed("descriptor-" + Path.GetFileNameWithoutExtension(path), text.AsSpan().TrimEnd((byte)0).TrimEnd((byte)' ').ToArray());
        }
        const string head = "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=fffffffe\nparentCID=ffffffff\n";
        string[] bodies =
        [
            "createType=\"monolithicFlat\"\nRW 128 FLAT \"disk-flat.vmdk\" 0\nRW 64 ZERO\nRDONLY 32 FLAT \"other flat.vmdk\" 16\nNOACCESS 8 FLAT \"x.vmdk\"\n\nddb.geometry.cylinders = \"1\"\nddb.adapterType = \"lsilogic\"\n",
            "createType=\"vmfs\"\nRW 128 VMFS \"disk-flat.vmdk\"\n",
            "createType=\"vmfsSparse\"\nparentFileNameHint=\"base.vmdk\"\nRW 128 VMFSSPARSE \"disk-delta.vmdk\"\n",
            "createType=\"seSparse\"\nparentFileNameHint=\"../base.vmdk\"\nRW 128 SESPARSE \"disk-sesparse.vmdk\"\n",
            "createType=\"vmfsRawDeviceMap\"\nRW 128 VMFSRDM \"disk-rdm.vmdk\"\n",
            "createType=\"twoGbMaxExtentFlat\"\r\nRW 4194304 FLAT \"s-f001.vmdk\" 0\r\nRW 4 FLAT \"s-f002.vmdk\" 0\r\n",
            "createType=\"monolithicSparse\"\nRW 2048 SPARSE \"sp\u00e9cial #1.vmdk\"\nddb.uuid.image=\"a0 b1\"\n",
            "createType=\"vsanSparse\"\nRW 128 VSANSPARSE \"vsan.vmdk\"\n",
        ];
        for (int i = 0; i < bodies.Length; i++) yield return new FuzzSeed($"descriptor-synthetic-{i}", Encoding.UTF8.GetBytes(head + bodies[i]));
        yield return new FuzzSeed("descriptor-latin1", Encoding.Latin1.GetBytes(head.Replace("UTF-8", "windows-1252") + "createType=\"monolithicFlat\"\nRW 16 FLAT \"caf\u00e9.vmdk\" 0\n"));
    }

    /// <summary>Decoder inputs taken from the NTFS test image: records, their runlists and reparse data, an index block, a compressed unit.</summary>
    public static IEnumerable<FuzzSeed> NtfsStructures(Func<string, string> images)
    {
        string path = Path.Combine(images("ntfs-basic"), "basic.img");
        using var disk = LocalSourceStore.OpenFile(path);
        var sector = new byte[512];
        disk.ReadExactly(0, sector, "boot");
        var boot = NtfsBootSector.Parse(sector, "seed");
        var seeds = new List<FuzzSeed>();
        static byte[] Tagged(byte kind, ReadOnlySpan<byte> body) => [kind, .. body];
        for (int n = 0; n < 64 && seeds.Count < 48; n++)
        {
            var r = new byte[boot.MftRecordSize];
            disk.ReadExactly(boot.MftLcn * boot.ClusterSize + n * (long)boot.MftRecordSize, r, "record");
            if (!r.AsSpan(0, 4).SequenceEqual("FILE"u8)) continue;
            if (n % 4 == 0 || n < 16) seeds.Add(new FuzzSeed($"ntfs-record-{n}", Tagged(Harnesses.NtfsStructures.MftRecord, r)));
            try
            {
                foreach (var a in NtfsMftRecord.Parse((byte[])r.Clone(), n, 0, "seed").Attributes)
                {
                    if (a.NonResident && seeds.Count(s => s.Name.StartsWith("ntfs-runlist")) < 6)
                        seeds.Add(new FuzzSeed($"ntfs-runlist-{n}-{a.Type:x}", Tagged(Harnesses.NtfsStructures.Runlist, a.Runlist.Span)));
                    if (!a.NonResident && a.Type == NtfsAttributeType.ReparsePoint)
                        seeds.Add(new FuzzSeed($"ntfs-reparse-{n}", Tagged(Harnesses.NtfsStructures.ReparsePoint, a.Value.Span)));
                }
            }
            catch (Exception e) when (ExpectedErrors.IsExpected(e))
            {
            }
        }
        using (var fsHandle = NtfsFileSystem.Open(disk, "seed", new FileSystemOptions()))
        {
            var fs = (NtfsFileSystem)fsHandle;
            ExpectedErrors.Tolerate(() =>
            {
                var dir1 = fs.Lookup(fs.RootId, "dir1");
                if (dir1 is null) return;
                var file = fs.LoadFile(dir1.Id);
                var alloc = file.GetIndexAllocation(fs);
                var block = new byte[file.GetIndexRoot().BlockSize];
                alloc.Read(0, block);
                seeds.Add(new FuzzSeed("ntfs-index-dir1", Tagged(Harnesses.NtfsStructures.IndexBlock, block)));
            });
            ExpectedErrors.Tolerate(() =>
            {
                var comp = fs.Lookup(fs.Lookup(fs.RootId, "compdir")!.Id, "comp.txt")!;
                var data = fs.LoadFile(comp.Id).Pieces(NtfsAttributeType.Data, "").Single();
                var runs = new List<NtfsRun>();
                NtfsRunlistDecoder.Decode(data.Runlist.Span, 0, fs.Boot.ClusterCount, runs, "seed", 0);
                var first = runs.First(r => !r.IsSparse);
                var packed = new byte[Math.Min(first.Length, 16) * fs.Boot.ClusterSize];
                disk.ReadExactly(first.Lcn * fs.Boot.ClusterSize, packed, "unit");
                seeds.Add(new FuzzSeed("ntfs-lznt1-comp", Tagged(Harnesses.NtfsStructures.Lznt1, packed)));
            });
        }
        return seeds;
    }

    public static IEnumerable<FuzzSeed> Nbd() => NbdScript.Seeds();
}
