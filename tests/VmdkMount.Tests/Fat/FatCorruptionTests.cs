using System.Buffers.Binary;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Tests.Infrastructure;
using static VmdkMount.Tests.Fat.FatTestSupport;

namespace VmdkMount.Tests.Fat;

/// <summary>Damaged FAT volumes: typed errors naming the volume, structure and offset; no hang, no crash.</summary>
public class FatCorruptionTests
{
    /// <summary>FAT16 geometry read straight from the BPB (independently of the reader under test).</summary>
    private sealed record Geometry(long FatOffset, long ClusterSize)
    {
        public static Geometry Of(string image)
        {
            var b = ReadBytes(image, 0, 512);
            int bps = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(11));
            return new Geometry(BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(14)) * (long)bps, b[13] * (long)bps);
        }
    }

    private static ushort FirstCluster(string image, FsNode node) =>
        BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(image, node.Id + 26, 2));

    private static void SetFat16(string image, uint cluster, ushort value)
    {
        var g = Geometry.Of(image);
        var v = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(v, value);
        Patch(image, g.FatOffset + cluster * 2L, v);
    }

    private static FsNode Node(IFileSystem fs, string path)
    {
        long id = fs.RootId;
        FsNode node = fs.Stat(id);
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
            node = fs.Lookup(node.Id, part) ?? throw new InvalidOperationException(path);
        return node;
    }

    private static byte[] ReadAll(IFileSystem fs, FsNode node)
    {
        var data = new byte[node.Size];
        int n = fs.Read(node.Id, 0, data);
        Assert.Equal(data.Length, n);
        return data;
    }

    public static TheoryData<string, ushort, string> BrokenFileChains => new()
    {
        { "self loop", 0, "loops back" },
        { "out of range", 0xFFF0, "outside the cluster heap" },
        { "free entry", 0x0000, "free FAT entry" },
        { "ends early", 0xFFFF, "after 1 clusters" },
        { "bad cluster", 0xFFF7, "bad cluster" },
    };

    [Theory]
    [MemberData(nameof(BrokenFileChains))]
    public void Broken_file_chain_keeps_the_good_part_and_reports_the_rest(string what, ushort value, string message)
    {
        string image = CopyToScratch(Image("fat-basic", "fat16.img"), "fat-chain");
        try
        {
            byte[] original;
            ushort first;
            using (var clean = new Opened(image, exFat: false))
            {
                var node = Node(clean.Fs, "/frag/BIGFRAG.BIN");
                original = ReadAll(clean.Fs, node);
                first = FirstCluster(image, node);
            }
            SetFat16(image, first, what == "self loop" ? first : value);
            using var opened = new Opened(image, exFat: false);
            var fs = opened.Fs;
            var big = Node(fs, "/frag/BIGFRAG.BIN");
            long cs = Geometry.Of(image).ClusterSize;
            var head = new byte[cs];
            Assert.Equal(head.Length, fs.Read(big.Id, 0, head));
            Assert.Equal(original.AsSpan(0, (int)cs).ToArray(), head);
            var e = Assert.Throws<CorruptDataException>(() => ReadAll(fs, big));
            Assert.Contains(message, e.Message);
            Assert.Contains("fat16.img", e.Message);
            Assert.Contains($"cluster {first}", e.Message);
            // the rest of the volume is unaffected
            Assert.Equal(100000, ReadAll(fs, Node(fs, "/Sub_Directory_Long/nested/deeper/random.bin")).Length);
        }
        finally
        {
            DeleteScratch(image);
        }
    }

    [Theory]
    [InlineData("loop", "loops back")]
    [InlineData("out of range", "outside the cluster heap")]
    public void Broken_directory_chain_fails_that_directory_only(string what, string message)
    {
        string image = CopyToScratch(Image("fat-basic", "fat16.img"), "fat-dirchain");
        try
        {
            long entry;
            using (var clean = new Opened(image, exFat: false))
            {
                var dir = Node(clean.Fs, "/Sub_Directory_Long");
                entry = dir.Id;
                ushort first = FirstCluster(image, dir);
                if (what == "loop") SetFat16(image, first, first);
            }
            if (what != "loop") Patch(image, entry + 26, [0xF0, 0xFF]);
            using var opened = new Opened(image, exFat: false);
            var fs = opened.Fs;
            var sub = Node(fs, "/Sub_Directory_Long");
            var e = Assert.Throws<CorruptDataException>(() => fs.List(sub.Id).ToList());
            Assert.Contains(message, e.Message);
            Assert.Contains("directory", e.Message);
            Assert.Equal(3001, fs.List(Node(fs, "/bigdir").Id).Count());
            Assert.Equal("FAT16VOL", fs.Label);
        }
        finally
        {
            DeleteScratch(image);
        }
    }

    [Fact]
    public void Subdirectory_pointing_at_the_root_is_a_cross_link_not_an_endless_tree()
    {
        string image = CopyToScratch(Image("fat-basic", "fat32.img"), "fat-cycle");
        try
        {
            uint rootCluster = BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(image, 44, 4));
            long entry;
            using (var clean = new Opened(image, exFat: false))
                entry = Node(clean.Fs, "/lower").Id;
            Patch(image, entry + 20, [(byte)(rootCluster >> 16), (byte)(rootCluster >> 24)]);
            Patch(image, entry + 26, [(byte)rootCluster, (byte)(rootCluster >> 8)]);
            using var opened = new Opened(image, exFat: false);
            var fs = opened.Fs;
            var lower = Node(fs, "/lower");
            var e = Assert.Throws<CorruptDataException>(() => fs.List(lower.Id).ToList());
            Assert.Contains("cross-linked", e.Message);
            Assert.Contains($"cluster {rootCluster}", e.Message);
            Assert.Throws<CorruptDataException>(() => fs.Lookup(lower.Id, "lower"));
            Assert.Equal(3001, fs.List(Node(fs, "/bigdir").Id).Count());
        }
        finally
        {
            DeleteScratch(image);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FAT32_reads_the_active_FAT_when_mirroring_is_off(bool mirroringOff)
    {
        string image = CopyToScratch(Image("fat-basic", "fat32.img"), "fat-active");
        try
        {
            Dictionary<string, string> expected;
            using (var clean = new Opened(image, exFat: false))
                expected = Describe(clean.Fs);
            var boot = ReadBytes(image, 0, 512);
            int bps = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(11));
            long fat0 = BinaryPrimitives.ReadUInt16LittleEndian(boot.AsSpan(14)) * (long)bps;
            long fatBytes = BinaryPrimitives.ReadUInt32LittleEndian(boot.AsSpan(36)) * (long)bps;
            // wipe FAT #0 except its two reserved entries; with mirroring off and FAT #1 active, nothing is lost
            Patch(image, fat0 + 8, new byte[fatBytes - 8]);
            if (mirroringOff) Patch(image, 40, [0x81, 0x00]);
            using var opened = new Opened(image, exFat: false);
            if (mirroringOff)
                AssertSameTree(expected, Describe(opened.Fs));
            else
                Assert.Throws<CorruptDataException>(() => Describe(opened.Fs));
        }
        finally
        {
            DeleteScratch(image);
        }
    }

    public static TheoryData<string, int, byte[], string> BrokenBootSectors => new()
    {
        { "bytes per sector 0", 11, [0, 0], "bytes per sector" },
        { "bytes per sector 333", 11, [0x4D, 0x01], "bytes per sector" },
        { "sectors per cluster 3", 13, [3], "sectors per cluster" },
        { "no reserved sectors", 14, [0, 0], "reserved" },
        { "no FATs", 16, [0], "number of FATs" },
        { "no sectors", 19, [0, 0, 0xF8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "total sector count" },
        { "root cluster 0", 44, [0, 0, 0, 0], "root directory cluster" },
        { "root cluster huge", 44, [0xFF, 0xFF, 0xFF, 0x0F], "root directory cluster" },
        { "FAT size 0", 36, [0, 0, 0, 0], "sectors per FAT" },
        { "no signature, no jump", 0, [0, 0, 0], "not a FAT boot sector" },
    };

    [Theory]
    [MemberData(nameof(BrokenBootSectors))]
    public void Broken_boot_sector_is_a_typed_error(string what, int offset, byte[] bytes, string message)
    {
        string image = CopyToScratch(Image("fat-basic", "fat32.img"), "fat-boot");
        try
        {
            Patch(image, offset, bytes);
            if (what.StartsWith("no signature")) Patch(image, 510, [0, 0]);
            var e = Assert.ThrowsAny<VmdkMountException>(() => new Opened(image, exFat: false).Dispose());
            Assert.Contains(message, e.Message);
            Assert.Contains("fat32.img", e.Message);
        }
        finally
        {
            DeleteScratch(image);
        }
    }

    [Fact]
    public void Bad_long_name_checksum_falls_back_to_the_8_3_name_and_crafted_case_flags_apply_like_mtools()
    {
        string image = CopyToScratch(Image("fat-basic", "fat12.img"), "fat-lfn");
        string outDir = RepoPaths.NewScratch("fat-lfn-mcopy");
        try
        {
            using (var clean = new Opened(image, exFat: false))
            {
                var fs = clean.Fs;
                // the long name's last LFN entry sits right before its 8.3 entry; byte 13 is its checksum
                var longNamed = Node(fs, "/MixedCase.Txt");
                Patch(image, longNamed.Id - 32 + 13, [(byte)(ReadBytes(image, longNamed.Id - 32 + 13, 1)[0] ^ 0x55)]);
                // NT case flag 0x10 (extension lower case) on an upper-case 8.3 name without a long name
                var upper = Node(fs, "/UPPER.TXT");
                Patch(image, upper.Id + 12, [0x10]);
            }
            using var opened = new Opened(image, exFat: false);
            var names = opened.Fs.List(opened.Fs.RootId).Select(e => e.Name).ToList();
            Assert.Contains("MIXEDC~1.TXT", names);
            Assert.DoesNotContain("MixedCase.Txt", names);
            Assert.Contains("UPPER.txt", names);

            Tool.Run("mcopy", ["-s", "-m", "-n", "-i", image, "::/", outDir + "/"], env: ToolEnv);
            AssertSameTree(DescribeHost(outDir), Describe(opened.Fs));
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
            DeleteScratch(image);
        }
    }

    [Fact]
    public void Truncated_volume_reads_what_is_there_and_reports_the_rest()
    {
        string image = Image("fat-basic", "fat32.img");
        using var opened = new Opened(image, exFat: false, length: 2 << 20);
        var fs = opened.Fs;
        Assert.Contains(fs.Warnings, w => w.Contains("reads past the end will fail"));
        int failures = 0;
        foreach (var item in Walk(fs).Where(i => i.Node.Type == FsNodeType.File))
        {
            try
            {
                Sha256(fs, item.Node);
            }
            catch (CorruptDataException e)
            {
                Assert.Contains("truncated", e.Message);
                failures++;
            }
        }
        Assert.True(failures > 0);
    }

    [Theory]
    [InlineData("fat12.img", 64 * 1024, 80)]
    [InlineData("fat16.img", 160 * 1024, 30)]
    [InlineData("fat32.img", 1024 * 1024, 30)]
    public void Random_damage_to_metadata_gives_typed_errors_only(string file, int metadataBytes, int iterations)
    {
        string image = CopyToScratch(Image("fat-basic", file), "fat-fuzz");
        try
        {
            FuzzMetadata(image, exFat: false, metadataBytes, iterations);
        }
        finally
        {
            DeleteScratch(image);
        }
    }

    /// <summary>
    /// Overwrites random bytes in the first <paramref name="metadataBytes"/> of a copy (boot sector, FATs, root
    /// directory), then opens, lists everything and reads every file: only our exceptions may come out, quickly.
    /// </summary>
    internal static void FuzzMetadata(string image, bool exFat, int metadataBytes, int iterations)
    {
        var pristine = ReadBytes(image, 0, metadataBytes);
        for (int seed = 0; seed < iterations; seed++)
        {
            var random = new Random(seed);
            var bytes = (byte[])pristine.Clone();
            int hits = 1 + random.Next(40);
            for (int i = 0; i < hits; i++)
            {
                int at = random.Next(metadataBytes);
                bytes[at] = random.Next(3) switch { 0 => 0xFF, 1 => 0, _ => (byte)random.Next(256) };
            }
            Patch(image, 0, bytes);
            var run = Task.Run(() =>
            {
                try
                {
                    using var opened = new Opened(image, exFat);
                    foreach (var item in Walk(opened.Fs, maxItems: 20_000))
                    {
                        try
                        {
                            if (item.Node.Type == FsNodeType.File)
                            {
                                var buffer = new byte[65536];
                                for (long off = 0; off < Math.Min(item.Node.Size, 8L << 20); off += buffer.Length)
                                    opened.Fs.Read(item.Node.Id, off, buffer);
                            }
                        }
                        catch (VmdkMountException)
                        {
                        }
                    }
                }
                catch (VmdkMountException)
                {
                }
            });
            Assert.True(run.Wait(TimeSpan.FromSeconds(30)), $"seed {seed}: no answer within 30 s");
            if (run.Exception is { } e) throw new Xunit.Sdk.XunitException($"seed {seed}: {e.InnerException}");
        }
    }
}
