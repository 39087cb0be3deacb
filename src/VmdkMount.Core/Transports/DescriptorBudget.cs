namespace VmdkMount.Core.Transports;

/// <summary>
/// How many chain files may be open at once: sized from the process's real limit (the soft RLIMIT_NOFILE, what
/// `ulimit -n` sets) less the descriptors already in use (counted in /proc/self/fd) and a reserve for everything
/// that is not a chain file (the FUSE device, sockets of remote sources, the runtime's own pipes and event
/// descriptors, the output file and folder handles of `extract` and `export`). The pool takes half of what is left,
/// so a process that opens more later still has room; when the count is wrong anyway the pool degrades by closing
/// handles and reopening (<see cref="FileHandlePool"/>), never by failing.
/// </summary>
public static class DescriptorBudget
{
    /// <summary>Descriptors kept free for what is not a chain file.</summary>
    public const int Reserve = 24;

    /// <summary>The most handles a pool keeps, however high the limit (a million under some container runtimes).</summary>
    public const int MaxPoolHandles = 1024;

    /// <summary>Where nothing can be counted (not Linux, no /proc): what the pool used before it measured.</summary>
    private const int Unmeasured = 128;

    /// <summary>The handle pool's bound for this process as it is now (at least 1).</summary>
    public static int PoolCapacity()
    {
        if (!OperatingSystem.IsLinux()) return Unmeasured;
        long? limit = LinuxFileCalls.OpenFileLimit();
        if (limit is null) return MaxPoolHandles;
        int inUse = DescriptorsInUse() ?? Reserve;
        return PoolCapacity(limit.Value, inUse);
    }

    /// <summary>The bound for a limit and a count of descriptors in use: half of what the reserve leaves, 1 to <see cref="MaxPoolHandles"/>.</summary>
    public static int PoolCapacity(long limit, int inUse) => (int)Math.Clamp((limit - inUse - Reserve) / 2, 1, MaxPoolHandles);

    /// <summary>Descriptors this process has open (entries of /proc/self/fd, less the one the count itself opens); null without /proc.</summary>
    public static int? DescriptorsInUse()
    {
        try
        {
            return Math.Max(0, Directory.EnumerateFileSystemEntries("/proc/self/fd").Count() - 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
