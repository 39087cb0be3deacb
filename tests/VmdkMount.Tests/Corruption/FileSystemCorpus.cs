using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Corruption;

/// <summary>Runs every case of one filesystem image and reports the outcomes and findings.</summary>
public static class FileSystemCorpus
{
    public static IReadOnlyList<CaseResult> Run(string imagePath, string kind, Func<IReadAt, IntactTree, IEnumerable<CorruptionCase>> generate)
    {
        string name = Path.GetFileName(imagePath);
        var before = SourceHashes.Of([imagePath]);
        var results = RunCases(imagePath, name, kind, generate);
        Assert.Equal(before, SourceHashes.Of([imagePath]));
        return results;
    }

    private static IReadOnlyList<CaseResult> RunCases(string imagePath, string name, string kind, Func<IReadAt, IntactTree, IEnumerable<CorruptionCase>> generate)
    {
        using var disk = new RawDisk(imagePath);
        var intact = new SubRange(disk, 0, disk.Length);
        IFileSystem Open(IReadAt data, string volume) => FormatRegistry.Default.Open(kind, data, volume, new FileSystemOptions());
        IntactTree tree;
        using (var fs = Open(intact, name)) tree = IntactTree.Of(fs);
        var cases = generate(intact, tree).ToList();
        return cases.Select(c => FileSystemCaseRunner.Run(c, intact, tree, name, Open)).ToList();
    }

    /// <summary>The cases of one image: its structures sampled and mutated, then its cross-links and loops.</summary>
    public static IEnumerable<CorruptionCase> Generate(string kind, string label, IReadAt intact, IntactTree tree) =>
        Structures(kind, label, intact, tree).Where(c => c.Patches.Count > 0 || c.TruncateTo is not null);

    private static IEnumerable<CorruptionCase> Structures(string kind, string label, IReadAt intact, IntactTree tree)
    {
        switch (kind)
        {
            case "ext2" or "ext3" or "ext4":
            {
                var s = new ExtStructures(intact, tree);
                return CorpusSampler.Cases(label, intact, s.Regions(), bigEndian: false, perKind: 14, mutationsPerRegion: 3).Concat(s.CrossLinksAndLoops(label));
            }
            case "ntfs":
            {
                var s = new NtfsStructures(intact, tree);
                return CorpusSampler.Cases(label, intact, s.Regions(), bigEndian: false, perKind: 16, mutationsPerRegion: 3).Concat(s.CrossLinksAndLoops(label));
            }
            case "fat12" or "fat16" or "fat32":
            {
                var s = new FatStructures(intact, tree);
                return CorpusSampler.Cases(label, intact, s.Regions(), bigEndian: false, perKind: 16, mutationsPerRegion: 3).Concat(s.CrossLinksAndLoops(label));
            }
            case "exfat":
            {
                var s = new ExFatStructures(intact, tree);
                return CorpusSampler.Cases(label, intact, s.Regions(), bigEndian: false, perKind: 16, mutationsPerRegion: 3).Concat(s.CrossLinksAndLoops(label));
            }
            default:
            {
                var s = new XfsStructures(intact, tree);
                return CorpusSampler.Cases(label, intact, s.Regions(), bigEndian: true, perKind: 12, mutationsPerRegion: 3).Concat(s.CrossLinksAndLoops(label));
            }
        }
    }

    /// <summary>Fails with every finding listed (the case names the structure and mutation, so it replays).</summary>
    public static void AssertNoFindings(string label, IReadOnlyList<CaseResult> results)
    {
        CorpusFigures.Record(CorpusFigures.Summarize(label, results));
        var findings = results.Where(r => r.Finding is not null).Select(r => $"{r.Case}: {r.Finding}").ToList();
        Assert.True(findings.Count == 0, $"{findings.Count} of {results.Count} cases of {label} failed:\n" + string.Join("\n", findings.Take(40)));
        Assert.Contains(results, r => r.Outcome != CaseOutcome.OpenedFine);
    }
}
