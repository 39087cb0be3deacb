namespace VmdkMount.Tests.Corruption;

/// <summary>
/// Runs one case on its own thread with a time bound and counts what that thread allocated: a hang becomes a finding
/// instead of a stuck test run (the thread is a background one and is left behind), as does an allocation past the bound.
/// </summary>
public static class BoundedRun
{
    public static readonly TimeSpan TimeBound = TimeSpan.FromSeconds(10);
    public const long AllocationBound = 512L << 20;

    public static CaseResult Run(CorruptionCase c, Func<(CaseOutcome Outcome, string? Finding, string? FirstError)> work)
    {
        (CaseOutcome, string?, string?) result = (CaseOutcome.CleanError, "did not finish", null);
        long allocated = 0;
        var started = DateTime.UtcNow;
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                result = (CaseOutcome.CleanError, $"{e.GetType().Name} escaped: {e}", null);
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }, 16 << 20) { IsBackground = true, Name = "corpus case" };
        thread.Start();
        bool done = thread.Join(TimeBound);
        var elapsed = DateTime.UtcNow - started;
        var (outcome, finding, first) = result;
        if (!done) finding = $"hang: not finished after {TimeBound.TotalSeconds} s";
        else if (allocated > AllocationBound) finding ??= $"allocated {allocated >> 20} MiB (bound {AllocationBound >> 20} MiB)";
        return new CaseResult(c, outcome, finding, first, elapsed, allocated);
    }
}
