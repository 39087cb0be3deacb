namespace VmdkMount.Tests.Corruption;

/// <summary>The three acceptable outcomes of a corrupted case (the README's reliability figures count them).</summary>
public enum CaseOutcome
{
    /// <summary>Opened, and everything walked read without an error.</summary>
    OpenedFine,

    /// <summary>Refused at open with one of our typed errors.</summary>
    CleanError,

    /// <summary>Opened; some directories, files or grains failed with typed errors, the rest read.</summary>
    PartiallyReadable,
}

/// <summary>What one case did. <see cref="Finding"/> is non-null for a hang, an escaped exception, too much memory or wrong bytes.</summary>
public sealed record CaseResult(CorruptionCase Case, CaseOutcome Outcome, string? Finding, string? FirstError, TimeSpan Elapsed, long AllocatedBytes);

/// <summary>Counts of outcomes per image kind, written for the README.</summary>
public static class CorpusFigures
{
    public static string Summarize(string kind, IReadOnlyList<CaseResult> results) =>
        $"{kind}\t{results.Count} cases\topened fine {results.Count(r => r.Outcome == CaseOutcome.OpenedFine)}" +
        $"\tclean error {results.Count(r => r.Outcome == CaseOutcome.CleanError)}" +
        $"\tpartially readable {results.Count(r => r.Outcome == CaseOutcome.PartiallyReadable)}" +
        $"\tfindings {results.Count(r => r.Finding is not null)}" +
        $"\tslowest {results.Max(r => r.Elapsed).TotalMilliseconds:F0} ms\tmost allocated {results.Max(r => r.AllocatedBytes) >> 20} MiB";

    /// <summary>Appends a line to build/corpus-figures.txt (one line per image kind and run).</summary>
    public static void Record(string line)
    {
        lock (typeof(CorpusFigures))
            File.AppendAllText(Path.Combine(Infrastructure.RepoPaths.Root, "build", "corpus-figures.txt"), DateTime.UtcNow.ToString("u") + "\t" + line + "\n");
    }
}
