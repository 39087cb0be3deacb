using System.Buffers.Binary;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// The corruption corpus of the VMDK layer, one theory row per kind: qemu-img made monolithic sparse, split sparse,
/// monolithic and split flat, streamOptimized and a five-link chain of mixed kinds; COWD and SEsparse links from the
/// test writers. Headers, descriptors, grain directories, tables and entries, stream markers and footers are flipped,
/// overwritten, wiped and cut; grain tables shared, grains shared, a table pointed into the header, a parent made the
/// child itself. Every case opens to a typed error naming a file, or reads: the chunks it did not map as before.
/// </summary>
[Collection("Corruption corpus")]
public sealed class VmdkCorpusTests
{
    private static string Qemu(string name) => Path.Combine(TestImages.Get("vmdk-qemu"), name);

    public static TheoryData<string> Kinds => ["monolithicSparse", "twoGbMaxExtentSparse", "monolithicFlat", "twoGbMaxExtentFlat", "streamOptimized", "chain", "COWD", "seSparse"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Vmdk_corpus(string kind)
    {
        var (top, cases) = Generate(kind);
        IntactDisk intact;
        using (var disk = VmdkDisk.OpenChain(top, new DiskOpenOptions(), LocalSourceStore.Unconfined)) intact = IntactDisk.Of(disk);
        Assert.NotEmpty(intact.Chunks);
        var files = cases.Select(c => c.File ?? top).Append(top).ToList();
        var before = SourceHashes.Of(files);
        var results = cases.Select(c => VmdkCaseRunner.Run(c, top, intact)).ToList();
        Assert.Equal(before, SourceHashes.Of(files));
        FileSystemCorpus.AssertNoFindings($"vmdk {kind}", results);
    }

    /// <summary>The cases of one kind: every file of the chain walked, sampled, and the kind's cross-links and loops.</summary>
    public static (string Top, List<CorruptionCase> Cases) Generate(string kind)
    {
        var cases = new List<CorruptionCase>();
        void Add(string file, IEnumerable<MetadataRegion> regions, int perKind = 8)
        {
            using var f = LocalSourceStore.OpenFile(file);
            cases.AddRange(CorpusSampler.Cases(kind, f, regions, bigEndian: false, perKind, mutationsPerRegion: 3).Select(c => c with { File = file }));
        }
        void AddSparse(string file, long start, bool shared = true)
        {
            using (var f = LocalSourceStore.OpenFile(file))
            {
                var regions = VmdkStructures.Sparse(f, start);
                if (shared) cases.AddRange(VmdkStructures.SharedTables(kind, file, f, start));
                if (VmdkStructures.ParentIsItself(kind, file, f) is { } loop) cases.Add(loop);
                Add(file, regions);
            }
        }
        void AddText(string descriptor)
        {
            var text = File.ReadAllBytes(descriptor);
            Add(descriptor, VmdkStructures.Descriptor(kind, 0, text), perKind: 20);
            using var f = LocalSourceStore.OpenFile(descriptor);
            if (VmdkStructures.ParentIsItself(kind, descriptor, f) is { } loop) cases.Add(loop);
        }
        void AddCut(string file)
        {
            long length = new FileInfo(file).Length;
            foreach (long at in new[] { 0, 512, length / 2, length - 512 })
                cases.Add(new CorruptionCase(kind, Path.GetFileName(file), $"cut at {at}", [], at, Touch.All) { File = file });
        }
        switch (kind)
        {
            case "monolithicSparse":
                AddSparse(Qemu("ms.vmdk"), 0);
                return (Qemu("ms.vmdk"), cases);
            case "twoGbMaxExtentSparse":
            {
                AddText(Qemu("ts.vmdk"));
                long start = 0;
                foreach (var s in new[] { "ts-s001.vmdk", "ts-s002.vmdk", "ts-s003.vmdk" })
                {
                    AddSparse(Qemu(s), start, shared: s == "ts-s002.vmdk");
                    using var f = LocalSourceStore.OpenFile(Qemu(s));
                    start += (long)BinaryPrimitives.ReadUInt64LittleEndian(Mutations.Read(f, 12, 8)) * 512;
                }
                return (Qemu("ts.vmdk"), cases);
            }
            case "monolithicFlat":
                AddText(Qemu("mf.vmdk"));
                AddCut(Qemu("mf-flat.vmdk"));
                return (Qemu("mf.vmdk"), cases);
            case "twoGbMaxExtentFlat":
                AddText(Qemu("tf.vmdk"));
                AddCut(Qemu("tf-f002.vmdk"));
                return (Qemu("tf.vmdk"), cases);
            case "streamOptimized":
                AddSparse(Qemu("so.vmdk"), 0);
                AddCut(Qemu("so.vmdk"));
                return (Qemu("so.vmdk"), cases);
            case "chain":
                // c4 (sparse, zeroed grains) -> c3 (stream) -> c2 (split sparse) -> c1 (sparse) -> base
                AddSparse(Qemu("c4.vmdk"), 0);
                AddSparse(Qemu("c3.vmdk"), 0);
                AddText(Qemu("c2.vmdk"));
                AddSparse(Qemu("c1.vmdk"), 0);
                AddCut(Qemu("c1.vmdk"));
                return (Qemu("c4.vmdk"), cases);
            case "COWD":
            {
                var d = DeltaCorpusImages.Cowd;
                AddText(d.Top);
                Add(d.DeltaFile, d.Regions);
                AddCut(d.DeltaFile);
                return (d.Top, cases);
            }
            default:
            {
                var d = DeltaCorpusImages.SeSparse;
                AddText(d.Top);
                Add(d.DeltaFile, d.Regions);
                AddCut(d.DeltaFile);
                return (d.Top, cases);
            }
        }
    }
}
