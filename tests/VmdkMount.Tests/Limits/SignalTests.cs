using System.Diagnostics;
using System.Globalization;
using VmdkMount.Fuse;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Limits;

/// <summary>
/// `mount --foreground` and SIGINT/SIGTERM/SIGHUP with the child's signal disposition set, not inherited: the test
/// runner may itself run under `nohup` (SIGHUP ignored) or as a background job (SIGINT ignored), and a child inherits
/// that. The child is started through `env --default-signal=...` (SIG_DFL) or `env --ignore-signal=HUP` (as nohup
/// does), and the disposition it really has is read from /proc/PID/status before the signal is sent.
/// </summary>
[Collection("Limits")]
public class SignalTests
{
    private const int SigHup = 1, SigInt = 2, SigTerm = 15;

    [Theory]
    [InlineData("INT", SigInt)]
    [InlineData("TERM", SigTerm)]
    [InlineData("HUP", SigHup)]
    public void With_default_dispositions_each_signal_unmounts_cleanly(string name, int number)
    {
        RunMount("--default-signal=INT,TERM,HUP", (p, mnt, state) =>
        {
            Assert.False(Ignored(p.Id, number), $"SIG{name} is still ignored in the child: the wrapper did not reset it");
            Assert.True(Caught(p.Id, number), $"the mount does not catch SIG{name}");
            Tool.Bash($"kill -{name} {p.Id}");
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(20)), $"still running after SIG{name}");
            Assert.Equal(0, p.ExitCode);
            Assert.Null(MountTable.Find(mnt));
            Assert.Empty(Directory.GetFiles(state, "*.json"));
        });
    }

    /// <summary>Under nohup SIGHUP stays ignored (what nohup asks for): the mount serves on, and SIGTERM still unmounts it.</summary>
    [Fact]
    public void Under_nohup_sighup_is_ignored_and_sigterm_still_unmounts_cleanly()
    {
        RunMount("--ignore-signal=HUP", (p, mnt, state) =>
        {
            Assert.True(Ignored(p.Id, SigHup), "SIGHUP is not ignored in the child: the wrapper did not set it");
            Tool.Bash($"kill -HUP {p.Id}");
            Thread.Sleep(1500);
            Assert.False(p.HasExited, "SIGHUP ignored by nohup stopped the mount");
            Assert.NotNull(MountTable.Find(mnt));
            Assert.NotEmpty(Directory.GetFileSystemEntries(Path.Combine(mnt, "p1")));
            Tool.Bash($"kill -TERM {p.Id}");
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(20)), "still running after SIGTERM");
            Assert.Equal(0, p.ExitCode);
            Assert.Null(MountTable.Find(mnt));
        });
    }

    private static void RunMount(string disposition, Action<Process, string, string> body)
    {
        string image = TestImages.Get("limits-ext");
        string scratch = RepoPaths.NewScratch("limits-signal");
        string chain = Path.Combine(scratch, "chain"), mnt = Path.Combine(scratch, "mnt"), state = Path.Combine(scratch, "state");
        Directory.CreateDirectory(chain);
        Directory.CreateDirectory(mnt);
        Process? p = null;
        try
        {
            string top = FsChain.Build(chain, Path.Combine(image, "disk.raw"), 4);
            var psi = new ProcessStartInfo("env") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { disposition, "dotnet", OurCli.Dll, "mount", top, mnt, "--foreground", "--state-dir", state }) psi.ArgumentList.Add(a);
            p = Process.Start(psi)!;
            _ = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            var proc = p;
            Assert.True(SpinWait.SpinUntil(() => proc.HasExited || Directory.Exists(Path.Combine(mnt, "p1", "bulk")), TimeSpan.FromSeconds(60)), "never mounted");
            Assert.False(p.HasExited, "the mount process ended before serving");
            body(p, mnt, state);
        }
        finally
        {
            if (p is { HasExited: false }) p.Kill();
            p?.Dispose();
            LimitedCli.Unmount(mnt, state);
            if (MountTable.Find(mnt) is not null) FuseSession.LazyUnmount(mnt);
            LimitedCli.DeleteScratch(scratch);
        }
    }

    private static bool Ignored(int pid, int signal) => (Mask(pid, "SigIgn") & (1UL << (signal - 1))) != 0;

    private static bool Caught(int pid, int signal) => (Mask(pid, "SigCgt") & (1UL << (signal - 1))) != 0;

    private static ulong Mask(int pid, string field)
    {
        string line = File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return ulong.Parse(line[(field.Length + 1)..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}
