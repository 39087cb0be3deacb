using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Transports;

namespace VmdkMount.Fuzz.Harnesses;

/// <summary>
/// What `info`, `check`, `map` and `export` do with one link, bounded: open it as the chain opener does (the magic
/// decides: hosted sparse, streamOptimized, COWD, seSparse, or a descriptor naming extents), map it run by run,
/// read the data runs, count allocated bytes, run the structural check (and the stream scan of a compressed file).
/// </summary>
public static class VmdkWalk
{
    private const int MaxRuns = 4096;

    /// <summary>Runs the last walk on this thread mapped: proof that a seed opens.</summary>
    [ThreadStatic] public static int LastRuns;
    private const long MaxDataBytes = 1 << 20;

    /// <param name="maxDataBytes">data bytes read at most (the seeds read few: grain data is not what they are for)</param>
    public static void Run(IReadAt file, bool recoverTruncatedStream, long maxDataBytes = MaxDataBytes)
    {
        LastRuns = 0;
        var store = new MemorySourceStore(file);
        VmdkLink link;
        try
        {
            link = VmdkLinkOpener.Open(MemorySourceStore.MainName, store, recoverTruncatedStream);
        }
        catch (Exception e) when (ExpectedErrors.IsExpected(e))
        {
            return;
        }
        using (link)
        {
            var buffer = new byte[64 * 1024];
            ExpectedErrors.Tolerate(() =>
            {
                long read = 0, offset = 0;
                for (int runs = 0; runs < MaxRuns && offset < link.Length; runs++)
                {
                    var run = link.Map(offset);
                    if (run.Length <= 0) throw new InvalidOperationException($"Map({offset}) returned a run of {run.Length} bytes");
                    long n = Math.Min(run.Length, link.Length - offset);
                    if (run.State == GrainState.Data && read < maxDataBytes)
                    {
                        int chunk = (int)Math.Min(Math.Min(n, buffer.Length), Math.Max(1, maxDataBytes - read));
                        link.ReadData(offset, buffer.AsSpan(0, chunk));
                        read += chunk;
                    }
                    offset += n;
                    LastRuns = runs + 1;
                }
            });
            ExpectedErrors.Tolerate(() => link.Check());
            ExpectedErrors.Tolerate(() => link.AllocatedBytes());
        }
    }
}
