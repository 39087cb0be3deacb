namespace VmdkMount.Tests.Infrastructure;

public static class Allocations
{
    /// <summary>
    /// Bytes allocated on this thread by the least-allocating of a few passes of <paramref name="pass"/>. Something
    /// outside the code under test can allocate on this thread once in a while (a process-wide cache evicting an
    /// entry a neighbouring test filled, the runtime tiering up a method mid-pass); a read path that allocates on
    /// every read still allocates in every pass.
    /// </summary>
    public static long LeastOfPasses(Action pass, int passes = 5)
    {
        long least = long.MaxValue;
        for (int i = 0; i < passes && least > 0; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            pass();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return least;
    }
}
