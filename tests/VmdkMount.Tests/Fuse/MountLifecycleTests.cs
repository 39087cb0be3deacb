using VmdkMount.Fuse;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Fuse;

/// <summary>The life of a CLI mount: detach, unmount, a killed process, cleanup, mounting again at the same place.</summary>
public class MountLifecycleTests
{
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
            Tool.Run("kill", "-9", pid.ToString());
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
                // fusermount3 (the auto_unmount helper) is the mount process's child; stop it first, then the mount process.
                string helpers = Tool.Run("pgrep", ["-P", pid.ToString(), "fusermount3"], allowFailure: true).StdOut;
                foreach (var h in helpers.Split('\n', StringSplitOptions.RemoveEmptyEntries)) Tool.Run("kill", "-9", h.Trim());
                Tool.Run("kill", "-9", pid.ToString());
                Assert.True(WaitUntil(() => MountState.ProcessStartTime(pid) is null, TimeSpan.FromSeconds(10)));
                Assert.True(MountTable.IsDead(mnt), "expected a dead mount (Transport endpoint is not connected)");
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
}
