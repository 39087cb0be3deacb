namespace VmdkMount.Tests.Corruption;

/// <summary>Counts of outcomes per image kind, written for the README.</summary>
public static class CorpusFigures
{
    private static readonly object Gate = new();

    public static string Summarize(string kind, IReadOnlyList<CaseResult> results) =>
        $"{kind}\t{results.Count} cases\topened fine {results.Count(r => r.Outcome == CaseOutcome.OpenedFine)}" +
        $"\tclean error {results.Count(r => r.Outcome == CaseOutcome.CleanError)}" +
        $"\tpartially readable {results.Count(r => r.Outcome == CaseOutcome.PartiallyReadable)}" +
        $"\tfindings {results.Count(r => r.Finding is not null)}" +
        $"\tslowest {results.Max(r => r.Elapsed).TotalMilliseconds:F0} ms\tmost allocated {results.Max(r => r.AllocatedBytes) >> 20} MiB";

    /// <summary>Appends a line to build/corpus-figures.txt (one line per image kind and run).</summary>
    public static void Record(string line)
    {
        lock (Gate)
            File.AppendAllText(Path.Combine(Infrastructure.RepoPaths.Root, "build", "corpus-figures.txt"), DateTime.UtcNow.ToString("u") + "\t" + line + "\n");
    }
}
