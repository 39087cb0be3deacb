using System.Text.RegularExpressions;
using VmdkMount.Fuzz.Harnesses;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Fuzz;

/// <summary>
/// The real thing, briefly: tests/fuzz/run.sh instruments VmdkMount.Core with SharpFuzz and runs every harness under
/// afl-fuzz for 2 s (about 1.5 minutes in all with the build and instrumentation). It fails on any crash or hang that
/// AFL saves (run.sh exits 1 and names the input), and when a harness ran no input at all. The script installs what it
/// needs itself: afl++ through install/deps.sh, the SharpFuzz instrumenter as a dotnet tool under build/fuzz/tools.
/// </summary>
public class AflSmokeTests
{
    [Fact]
    public void Every_harness_runs_under_afl_fuzz_without_a_finding()
    {
        // seeds come from the test images: build them through the suite's cache, as the in-process tests do
        foreach (var set in new[] { "ntfs-basic", "ext-basic", "ext-bigdir", "fat-basic", "fat-exfat", "xfs-basic", "xfs-xattr",
                     "vmdk-qemu", "vmdk-deltas-bases", "fat-vmdk", "volumes-tables", "volumes-lvm" })
            TestImages.Get(set);
        string output = Path.Combine(RepoPaths.Root, "build", "fuzz", "smoke");
        var r = Tool.Run("/bin/bash", [Path.Combine(RepoPaths.Root, "tests", "fuzz", "run.sh"), "--seconds", "2", "--out", output],
            workDir: RepoPaths.Root, allowFailure: true, timeout: TimeSpan.FromMinutes(6));
        Assert.True(r.ExitCode == 0, $"run.sh exited {r.ExitCode}\n{r.StdOut}\n{r.StdErr}");
        foreach (var h in FuzzHarnesses.All)
        {
            var line = Regex.Match(r.StdOut, $@"^{Regex.Escape(h.Name)} +(\d+) +\d+ +(\d+) +(\d+)", RegexOptions.Multiline);
            Assert.True(line.Success, $"no line for {h.Name} in\n{r.StdOut}");
            Assert.True(long.Parse(line.Groups[1].Value) > 0, $"{h.Name} ran no input:\n{r.StdOut}");
        }
    }
}
