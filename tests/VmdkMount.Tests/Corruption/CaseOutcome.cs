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
