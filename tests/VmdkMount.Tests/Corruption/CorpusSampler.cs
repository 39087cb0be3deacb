using System.Text.RegularExpressions;
using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// Turns the structures a walk found into a bounded, deterministic set of cases: every kind of structure (the name
/// without its numbers) is represented, evenly spaced picks within a kind, a few mutations each, and cuts at the
/// first structures of each kind. The bound keeps the corpus test within its time budget in CI.
/// </summary>
public static partial class CorpusSampler
{
    public static string KindOf(string structure) => Numbers().Replace(structure, "#");

    public static List<CorruptionCase> Cases(string image, IReadAt intact, IEnumerable<MetadataRegion> regions, bool bigEndian,
        int perKind, int mutationsPerRegion, int cutsPerKind = 1)
    {
        // VMDKMOUNT_CORPUS_SCALE=N multiplies the picks and mutations for a long run; CI runs the default of 1
        int scale = int.TryParse(Environment.GetEnvironmentVariable("VMDKMOUNT_CORPUS_SCALE"), out int n) && n > 1 ? n : 1;
        perKind *= scale;
        mutationsPerRegion *= scale;
        var cases = new List<CorruptionCase>();
        foreach (var kind in regions.Where(r => r.Length > 0 && r.Offset + r.Length <= intact.Length).GroupBy(r => KindOf(r.Structure)).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var all = kind.DistinctBy(r => r.Offset).ToList();
            int take = Math.Min(perKind, all.Count);
            for (int i = 0; i < take; i++)
            {
                var region = all[(int)((long)i * all.Count / take)];
                cases.AddRange(Mutations.Of(image, intact, region, mutationsPerRegion, bigEndian, cut: i < cutsPerKind));
            }
        }
        return cases;
    }

    [GeneratedRegex(@"\d+")]
    private static partial Regex Numbers();
}
