using VmdkMount.Fuse;
using VmdkMount.Tests.Infrastructure;
using VmdkMount.Tests.Transports;
using Xunit.Abstractions;

namespace VmdkMount.Tests.Limits;

/// <summary>
/// Faults while a mount is up: a parent link deleted, truncated or replaced by another file, reads that fail at the
/// NBD server (nbdkit's error filter), and a mount process killed at points of its start-up and while serving.
/// Every read either fails cleanly (EIO) or returns the right bytes (checked against the kernel's ext4 manifest:
/// decoys in the link below make a skipped link show wrong bytes); the mount stays up and reads right again once
/// the file is back; a killed mount leaves nothing `vmdkmount cleanup` cannot clear.
/// </summary>
[Collection("Limits")]
public class FaultTests(ITestOutputHelper log)
{
    private const int Links = 10;
    private const string Victim = "chain-00005.vmdk";

    public enum Fault { Deleted, Truncated, Replaced }

    [Theory]
    [InlineData(Fault.Deleted)]
    [InlineData(Fault.Truncated)]
    [InlineData(Fault.Replaced)]
    public void A_parent_that_goes_away_fails_reads_cleanly_and_the_mount_recovers_when_it_is_back(Fault fault)
    {
        string image = TestImages.Get("limits-ext");
        var manifest = VolumeManifest.Read(image);
        string scratch = RepoPaths.NewScratch($"limits-fault-{fault}");
        string mnt = Path.Combine(scratch, "mnt"), state = Path.Combine(scratch, "state");
        Directory.CreateDirectory(mnt);
        try
        {
            string victim = MountChainWithOneHandle(image, scratch, mnt, state), away = Path.Combine(scratch, "away.vmdk");
            int pid = new MountState(state).Find(mnt)!.Pid;
            string root = Path.Combine(mnt, "p1");
            // The mount is in use when the file goes away: the volume is open and its root listed. (A volume whose
            // first open meets the fault is the next test.)
            Assert.NotEmpty(Directory.GetFileSystemEntries(root));
            switch (fault)
            {
                case Fault.Deleted:
                    File.Move(victim, away);
                    break;
                case Fault.Truncated:
                    File.Copy(victim, away);
                    using (var f = new FileStream(victim, FileMode.Open, FileAccess.Write)) f.SetLength(f.Length / 2);
                    break;
                case Fault.Replaced:
                    File.Move(victim, away);
                    File.Copy(away, victim);
                    break;
            }
            var (right, failed) = HashAll(manifest, root);
            log.WriteLine($"{fault}: {right} files right, {failed} failed with EIO");
            Assert.True(failed > 0, $"no read met the {fault} link");
            Assert.True(MountTable.Find(mnt) is not null && MountState.ProcessStartTime(pid) is not null, "the mount went down");
            // The mount's own root answers (the volume's folder may itself fail with EIO: its metadata can be in the link).
            Assert.Contains(root, Directory.GetFileSystemEntries(mnt));

            switch (fault)
            {
                case Fault.Deleted:
                case Fault.Replaced:
                    File.Move(away, victim, overwrite: true);
                    break;
                case Fault.Truncated:
                    using (var f = new FileStream(victim, FileMode.Open, FileAccess.Write))
                    using (var saved = File.OpenRead(away))
                        saved.CopyTo(f);
                    break;
            }
            var (again, stillFailed) = HashAll(manifest, root);
            string logPath = new MountState(state).LogPath(mnt);
            string logTail = File.Exists(logPath) ? string.Join("\n", File.ReadLines(logPath).TakeLast(5)) : "";
            Assert.True(stillFailed == 0, $"{stillFailed} files still fail after {Victim} is back ({again} right); the mount's log ends:\n{logTail}");
        }
        finally
        {
            LimitedCli.Unmount(mnt, state);
            LimitedCli.DeleteScratch(scratch);
        }
    }

    /// <summary>
    /// The parent goes away before the volume is first opened: the volume's folder is unreadable (EIO), and once the
    /// file is back the folder becomes the volume on its next use after the retry interval, without a remount.
    /// </summary>
    [Fact]
    public void A_volume_whose_first_open_meets_a_missing_parent_opens_once_the_file_is_back()
    {
        string image = TestImages.Get("limits-ext");
        var manifest = VolumeManifest.Read(image);
        string scratch = RepoPaths.NewScratch("limits-fault-first-open");
        string mnt = Path.Combine(scratch, "mnt"), state = Path.Combine(scratch, "state");
        Directory.CreateDirectory(mnt);
        try
        {
            string victim = MountChainWithOneHandle(image, scratch, mnt, state), away = Path.Combine(scratch, "away.vmdk");
            File.Move(victim, away);
            string root = Path.Combine(mnt, "p1");
            var failure = Record.Exception(() => Directory.GetFileSystemEntries(root));
            string logPath = new MountState(state).LogPath(mnt);
            string logText = File.Exists(logPath) ? File.ReadAllText(logPath) : "";
            Assert.True(failure is IOException, $"listing p1 with {Victim} gone did not fail (log: {logText})");
            Assert.Contains("p1: cannot open the", logText);
            File.Move(away, victim);
            Thread.Sleep(2500); // the mount's retry interval is 2 s
            var (right, failed) = HashAll(manifest, root);
            logText = File.Exists(logPath) ? string.Join("\n", File.ReadLines(logPath).TakeLast(5)) : "";
            Assert.True(failed == 0 && right == manifest.Files.Count(), $"{failed} files fail, {right} right after {Victim} is back; the log ends:\n{logText}");
            Assert.Contains("p1: the ext4 filesystem opens now", File.ReadAllText(logPath));
        }
        finally
        {
            LimitedCli.Unmount(mnt, state);
            LimitedCli.DeleteScratch(scratch);
        }
    }

    /// <summary>
    /// nbdkit's error filter fails every read with EIO while a trigger file exists: reads through the mount fail
    /// cleanly or are right, the mount stays up, and once the trigger is gone the whole tree reads right.
    /// </summary>
    [Fact]
    public void Nbd_reads_that_fail_at_the_server_fail_cleanly_and_recover()
    {
        string image = TestImages.Get("limits-ext");
        var manifest = VolumeManifest.Read(image);
        string scratch = RepoPaths.NewScratch("limits-fault-nbd");
        string mnt = Path.Combine(scratch, "mnt"), state = Path.Combine(scratch, "state"), trigger = Path.Combine(scratch, "fail-now");
        Directory.CreateDirectory(mnt);
        try
        {
            using var server = NbdServer.Nbdkit("--filter=error", "file", Path.Combine(image, "disk.raw"), "error=EIO", "error-pread-rate=30%", $"error-file={trigger}");
            var m = OurCli.Run("mount", server.Uri(), mnt, "--state-dir", state, "--retries", "0");
            Assert.True(m.ExitCode == 0 && MountTable.Find(mnt) is not null, m.StdErr + m.StdOut);
            int pid = new MountState(state).Find(mnt)!.Pid;
            string root = Path.Combine(mnt, "p1");
            // The volume is opened before the faults begin, as in the local fault tests (a volume whose first open
            // fails is retried later: A_volume_whose_first_open_meets_a_missing_parent...); what is proven here is
            // that reads inside an open volume fail cleanly and recover.
            Assert.NotEmpty(Directory.EnumerateFileSystemEntries(root));
            File.WriteAllText(trigger, "");
            var (right, failed) = HashAll(manifest, root);
            log.WriteLine($"nbd error filter (30% of reads): {right} files right, {failed} failed with EIO");
            Assert.True(failed > 0, "the error filter never failed a read");
            Assert.True(MountTable.Find(mnt) is not null && MountState.ProcessStartTime(pid) is not null, "the mount went down");
            File.Delete(trigger);
            var (again, stillFailed) = HashAll(manifest, root);
            Assert.True(stillFailed == 0, $"{stillFailed} files still fail after the errors stopped ({again} right)");
        }
        finally
        {
            LimitedCli.Unmount(mnt, state);
            LimitedCli.DeleteScratch(scratch);
        }
    }

    /// <summary>
    /// `mount --foreground` killed with SIGKILL at points of its start-up (before it opened the chain, while it
    /// mounts, just after) and while serving reads: `vmdkmount cleanup` then leaves no mount, no state record and no
    /// helper process behind.
    /// </summary>
    [Theory]
    [InlineData(100)]
    [InlineData(300)]
    [InlineData(600)]
    [InlineData(1000)]
    [InlineData(1500)]
    [InlineData(-1)]
    public void A_mount_killed_at_any_point_leaves_nothing_cleanup_cannot_clear(int killAfterMs)
    {
        string image = TestImages.Get("limits-ext");
        var manifest = VolumeManifest.Read(image);
        string scratch = RepoPaths.NewScratch("limits-kill");
        string chain = Path.Combine(scratch, "chain"), mnt = Path.Combine(scratch, "mnt"), state = Path.Combine(scratch, "state");
        Directory.CreateDirectory(chain);
        Directory.CreateDirectory(mnt);
        System.Diagnostics.Process? p = null;
        Thread? reader = null;
        try
        {
            string top = FsChain.Build(chain, Path.Combine(image, "disk.raw"), Links);
            p = OurCli.StartForSignals(["mount", top, mnt, "--foreground", "--state-dir", state]);
            _ = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            if (killAfterMs >= 0)
                Thread.Sleep(killAfterMs);
            else
            {
                // While serving: a reader is in the middle of the tree when the process dies.
                Assert.True(SpinWait.SpinUntil(() => Directory.Exists(Path.Combine(mnt, "p1", "bulk")), TimeSpan.FromSeconds(60)), "never mounted");
                reader = new Thread(() =>
                {
                    try { HashAll(manifest, Path.Combine(mnt, "p1")); }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
                }) { IsBackground = true };
                reader.Start();
                Thread.Sleep(300);
            }
            Tool.Bash($"kill -9 {p.Id}", allowFailure: true);
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(10)), "the killed process did not die");
            reader?.Join(TimeSpan.FromSeconds(30));
            var cleanup = OurCli.Run("cleanup", "--state-dir", state);
            Assert.True(cleanup.ExitCode == 0, cleanup.StdOut + cleanup.StdErr);
            Assert.True(SpinWait.SpinUntil(() => MountTable.Find(mnt) is null, TimeSpan.FromSeconds(10)), "a mount is left after cleanup");
            Assert.Empty(Directory.Exists(state) ? Directory.GetFiles(state, "*.json") : []);
            Assert.True(SpinWait.SpinUntil(() => HelpersOf(mnt).Count == 0, TimeSpan.FromSeconds(10)), $"left running: {string.Join(", ", HelpersOf(mnt))}");
            Assert.True(Directory.Exists(mnt) && Directory.GetFileSystemEntries(mnt).Length == 0, "the mount point is not an empty folder again");
        }
        finally
        {
            if (p is { HasExited: false }) p.Kill();
            p?.Dispose();
            if (MountTable.Find(mnt) is not null) FuseSession.LazyUnmount(mnt);
            LimitedCli.DeleteScratch(scratch);
        }
    }

    /// <summary>Hashes every file of the manifest through the mount: counts right ones and EIO failures; a wrong hash fails the test.</summary>
    /// <summary>
    /// Builds the <see cref="Links"/>-link chain over limits-ext's disk in SCRATCH/chain and mounts it with one pooled
    /// handle: every read of another link closes the victim's, so a fault is met when it is reopened. Returns the
    /// victim's path.
    /// </summary>
    private static string MountChainWithOneHandle(string image, string scratch, string mnt, string state)
    {
        string chain = Path.Combine(scratch, "chain");
        Directory.CreateDirectory(chain);
        string top = FsChain.Build(chain, Path.Combine(image, "disk.raw"), Links);
        var m = Tool.Run("dotnet", [OurCli.Dll, "mount", top, mnt, "--state-dir", state], allowFailure: true,
            env: new Dictionary<string, string> { ["VMDKMOUNT_MAX_OPEN_FILES"] = "1" });
        Assert.True(m.ExitCode == 0 && MountTable.Find(mnt) is not null, m.StdErr + m.StdOut);
        return Path.Combine(chain, Victim);
    }

    private static (int Right, int Failed) HashAll(VolumeManifest manifest, string root)
    {
        int right = 0, failed = 0;
        foreach (var f in manifest.Files)
        {
            string hash;
            try
            {
                hash = Hashing.Sha256File(root + f.Path);
            }
            catch (IOException e) when (e.HResult == 5 || e.Message.Contains("Input/output error", StringComparison.Ordinal))
            {
                failed++;
                continue;
            }
            Assert.True(hash == f.HashOrTarget, $"{f.Path}: wrong bytes read while a link was at fault");
            right++;
        }
        return (right, failed);
    }

    /// <summary>Processes whose command line names the mount point (the foreground mount, fusermount3's auto_unmount helper).</summary>
    private static List<string> HelpersOf(string mnt)
    {
        var found = new List<string>();
        foreach (var dir in Directory.GetDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            try
            {
                string cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmd.Contains(mnt, StringComparison.Ordinal)) found.Add($"{Path.GetFileName(dir)}: {cmd.Trim()}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return found;
    }
}
