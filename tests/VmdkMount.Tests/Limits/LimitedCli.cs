using VmdkMount.Fuse;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Limits;

/// <summary>Our CLI run under `ulimit -n N` (a soft and hard limit the child cannot raise), and what /proc says of a process.</summary>
internal static class LimitedCli
{
    public static Tool.Result Run(int openFiles, IEnumerable<string> args, IDictionary<string, string>? env = null, TimeSpan? timeout = null) =>
        Tool.Run("/bin/bash", ["-c", $"ulimit -n {openFiles} && exec dotnet \"$0\" \"$@\"", OurCli.Dll, .. args], allowFailure: true,
            env: env, timeout: timeout ?? TimeSpan.FromMinutes(5));

    /// <summary>The soft "Max open files" of a running process (/proc/PID/limits).</summary>
    public static long OpenFileLimitOf(int pid)
    {
        string line = File.ReadAllLines($"/proc/{pid}/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        return long.Parse(line["Max open files".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    public static int DescriptorCount(int pid) => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;

    public static int ThreadCount(int pid) => Directory.GetDirectories($"/proc/{pid}/task").Length;

    /// <summary>
    /// Threads by kind: the runtime's own (named ".NET ...") and the rest (the main thread and libfuse's workers,
    /// which libfuse starts on demand while every worker is busy, up to the mount's --threads, and which keep the
    /// process's name).
    /// </summary>
    public static (int Runtime, int Others) ThreadKinds(int pid)
    {
        int runtime = 0, others = 0;
        foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            string comm;
            try { comm = File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n'); }
            catch (IOException) { continue; }   // the thread ended while we looked
            if (comm.StartsWith(".NET", StringComparison.Ordinal)) runtime++;
            else others++;
        }
        return (runtime, others);
    }

    /// <summary>Resident set size in bytes (VmRSS of /proc/PID/status).</summary>
    public static long Rss(int pid)
    {
        string line = File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>Unmounts a test's mount whatever state it is in (clean unmount, else lazy detach); never throws.</summary>
    public static void Unmount(string mountPoint, string stateDir)
    {
        try
        {
            if (MountTable.Find(mountPoint) is null) return;
            var r = OurCli.Run(["unmount", mountPoint, "--state-dir", stateDir]);
            if (r.ExitCode != 0 && MountTable.Find(mountPoint) is not null) FuseSession.LazyUnmount(mountPoint);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            FuseSession.LazyUnmount(mountPoint);
        }
    }

    public static void DeleteScratch(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
