using VmdkMount.Fuse;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Fuse;

/// <summary>The life of a CLI mount: detach, unmount, a killed process, cleanup, mounting again at the same place.</summary>
public class MountLifecycleTests
{
    /// <summary>Processes whose parent is <paramref name="parent"/> and whose command name is <paramref name="name"/> (from /proc).</summary>
    private static List<int> ChildrenNamed(int parent, string name)
    {
        var result = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int open = stat.IndexOf('('), close = stat.LastIndexOf(')');
                var rest = stat[(close + 2)..].Split(' ');
                if (stat[(open + 1)..close] == name && rest.Length > 1 && rest[1] == parent.ToString()) result.Add(pid);
            }
            catch (IOException)
            {
                // The process ended while listing.
            }
        }
        return result;
    }

    /// <summary>fusermount3 processes whose command line names <paramref name="mountPoint"/>.</summary>
    private static List<int> AutoUnmountHelpers(string mountPoint)
    {
        var result = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "comm")).Trim() != "fusermount3") continue;
                var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (args.Contains(mountPoint)) result.Add(pid);
            }
            catch (IOException)
            {
                // The process ended while listing.
            }
        }
        return result;
    }

    private static bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (condition()) return true;
            Thread.Sleep(50);
        }
        return condition();
    }

    [Fact]
    public void Kill_9_leaves_no_dead_mount_cleanup_forgets_it_and_a_new_mount_works()
    {
        string images = TestImages.Get("fuse-chain");
        string scratch = RepoPaths.NewScratch("fuse-kill");
        string mnt = Path.Combine(scratch, "mnt");
        string state = Path.Combine(scratch, "state");
        string disk = Path.Combine(images, "child2.vmdk");
        try
        {
            // Not disposed: its unmount would hide what cleanup must do; the finally below detaches whatever is left.
            var first = new CliMount(disk, mnt, state);
            Assert.Equal("bob changed in child1\n", File.ReadAllText(Path.Combine(mnt, "p2/home/bob/a.txt")));
            int pid = first.Pid;
            Tool.Bash($"kill -9 {pid}");
            // auto_unmount: fusermount3 notices the process is gone and detaches the mount. It checks for ENOTCONN
            // once, so under heavy load it can miss (seen rarely); cleanup is the documented fallback below.
            WaitUntil(() => MountTable.Find(mnt) is null, TimeSpan.FromSeconds(5));
            Assert.True(WaitUntil(() => MountState.ProcessStartTime(pid) is null, TimeSpan.FromSeconds(10)));
            var cleanup = OurCli.Run("cleanup", "--state-dir", state);
            Assert.Equal(0, cleanup.ExitCode);
            Assert.Contains($"{mnt}: cleaned (process {pid} is gone)", cleanup.StdOut);
            Assert.Empty(Directory.GetFiles(state, "*.json"));
            Assert.Null(MountTable.Find(mnt));

            using (var second = new CliMount(disk, mnt, state))
            {
                Assert.Equal("secret=1\n", File.ReadAllText(Path.Combine(mnt, "p2/etc/config")));
                int pid2 = second.Pid;
                var unmount = OurCli.Run("unmount", mnt, "--state-dir", state);
                Assert.True(unmount.ExitCode == 0, unmount.StdErr);
                Assert.Null(MountTable.Find(mnt));
                Assert.True(WaitUntil(() => MountState.ProcessStartTime(pid2) is null, TimeSpan.FromSeconds(10)), "the mount process kept running");
                Assert.Empty(Directory.GetFiles(state, "*.json"));
            }
        }
        finally
        {
            if (MountTable.Find(mnt) is not null) FuseSession.LazyUnmount(mnt);
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public void Cleanup_unmounts_a_dead_mount_whose_process_was_stopped_before_auto_unmount_could_act()
    {
        // A mount without the auto_unmount helper is simulated by killing the helper too: the mount then really
        // stays dead (ENOTCONN) until cleanup finds it through the state folder.
        string images = TestImages.Get("fuse-chain");
        string scratch = RepoPaths.NewScratch("fuse-dead");
        string mnt = Path.Combine(scratch, "mnt");
        string state = Path.Combine(scratch, "state");
        try
        {
            using (var m = new CliMount(Path.Combine(images, "child2.vmdk"), mnt, state))
            {
                int pid = m.Pid;
                // fusermount3 (the auto_unmount helper) is started by the mount process but may be reparented, so it is
                // found by its command line, which names the mount point; stop it first, then the mount process.
                List<int> helpers = [];
                Assert.True(WaitUntil(() => (helpers = AutoUnmountHelpers(mnt)).Count > 0, TimeSpan.FromSeconds(10)),
                    "no fusermount3 auto_unmount helper found for the mount");
                foreach (int helper in helpers) Tool.Bash($"kill -9 {helper}");
                Tool.Bash($"kill -9 {pid}");
                Assert.True(WaitUntil(() => MountState.ProcessStartTime(pid) is null, TimeSpan.FromSeconds(10)));
                Assert.True(WaitUntil(() => MountTable.IsDead(mnt), TimeSpan.FromSeconds(10)),
                    "expected a dead mount (Transport endpoint is not connected)");
                var cleanup = OurCli.Run("cleanup", "--state-dir", state);
                Assert.True(cleanup.ExitCode == 0, cleanup.StdOut + cleanup.StdErr);
                Assert.Null(MountTable.Find(mnt));
                Assert.True(Directory.Exists(mnt));
            }
        }
        finally
        {
            if (MountTable.Find(mnt) is not null) FuseSession.LazyUnmount(mnt);
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    [InlineData("HUP")]
    public async Task Foreground_mount_unmounts_cleanly_on_a_signal(string signal)
    {
        string images = TestImages.Get("fuse-chain");
        string scratch = RepoPaths.NewScratch("fuse-signal");
        string mnt = Path.Combine(scratch, "mnt");
        string state = Path.Combine(scratch, "state");
        Directory.CreateDirectory(mnt);
        using var p = StartForegroundMount(Path.Combine(images, "child2.vmdk"), mnt, state);
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        try
        {
            Assert.True(WaitUntil(() => File.Exists(Path.Combine(mnt, "etc/config")), TimeSpan.FromSeconds(60)), "never mounted");
            Assert.Single(Directory.GetFiles(state, "*.json"));
            Tool.Bash($"kill -{signal} {p.Id}");
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(20)), "still running after SIG" + signal);
            Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {await stderr}");
            Assert.Null(MountTable.Find(mnt));
            Assert.Empty(Directory.GetFiles(state, "*.json"));
            Assert.Contains("mounted at " + mnt, await stdout);
        }
        finally
        {
            if (!p.HasExited) p.Kill();
            if (MountTable.Find(mnt) is not null) FuseSession.LazyUnmount(mnt);
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// A lazy detach ends the connection only when nobody holds the mount any more; a file held open inside it (an
    /// antivirus scanner, a shell's cwd) must not keep a stopped mount's process waiting forever.
    /// </summary>
    [Fact]
    public void Foreground_mount_stops_on_a_signal_while_a_file_in_it_is_held_open()
    {
        string images = TestImages.Get("fuse-chain");
        string scratch = RepoPaths.NewScratch("fuse-signal-held");
        string mnt = Path.Combine(scratch, "mnt");
        string state = Path.Combine(scratch, "state");
        Directory.CreateDirectory(mnt);
        using var p = StartForegroundMount(Path.Combine(images, "child2.vmdk"), mnt, state);
        _ = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        System.Diagnostics.Process? holder = null;
        try
        {
            Assert.True(WaitUntil(() => File.Exists(Path.Combine(mnt, "etc/config")), TimeSpan.FromSeconds(60)), "never mounted");
            // A separate process keeps the file open (and its cwd in the mount) for a minute.
            var hold = new System.Diagnostics.ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = mnt };
            hold.ArgumentList.Add("-c");
            hold.ArgumentList.Add("exec 3< etc/config; sleep 60");
            holder = System.Diagnostics.Process.Start(hold)!;
            Assert.True(WaitUntil(() => Directory.GetFileSystemEntries($"/proc/{holder.Id}/fd").Any(fd => SafeLink(fd).StartsWith(mnt, StringComparison.Ordinal)),
                TimeSpan.FromSeconds(10)), "the holder never opened the file");
            Tool.Bash($"kill -TERM {p.Id}");
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(20)), "still running after SIGTERM with a file held open in the mount");
            Assert.Null(MountTable.Find(mnt));
        }
        finally
        {
            if (!p.HasExited) p.Kill();
            if (holder is { HasExited: false }) holder.Kill();
            holder?.Dispose();
            if (MountTable.Find(mnt) is not null) FuseSession.LazyUnmount(mnt);
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>`mount --foreground` of volume p2 as a child process, output redirected (the caller drains it).</summary>
    private static System.Diagnostics.Process StartForegroundMount(string disk, string mnt, string state) =>
        OurCli.StartForSignals(["mount", disk, mnt, "--foreground", "--volume", "p2", "--state-dir", state]);

    private static string SafeLink(string path)
    {
        try { return new FileInfo(path).LinkTarget ?? ""; }
        catch (IOException) { return ""; }
    }
}
