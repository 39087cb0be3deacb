using VmdkMount.Core.Transports;
using VmdkMount.Fuse;
using VmdkMount.Tests.Infrastructure;
using Xunit.Abstractions;

namespace VmdkMount.Tests.Limits;

/// <summary>
/// Deep chains under `ulimit -n 64`: `info`, `export`, `extract` (and a FUSE mount under 96, see <see cref="MountLimit"/>)
/// of a 120-link and a 2,000-link chain (each link a file the handle pool must open), run as the real CLI under the limit, each compared with
/// `qemu-img convert` of the same chain (the disk) and with the kernel's ext4 reading of the volume (the files).
/// Before the pool was sized from the limit, a 120-link export failed under `ulimit -n 96` with "Too many open files".
/// </summary>
[Collection("Limits")]
public class DescriptorLimitTests(ITestOutputHelper log)
{
    private const int Limit = 64;

    /// <summary>
    /// The limit the FUSE mount is run under. Under the `dotnet` host the runtime alone holds about 60 descriptors
    /// in a serving mount before any chain file (two per loaded assembly, 40 assemblies; pipes, /dev/fuse, the log):
    /// measured with a pool of one handle, so 64 cannot hold a mount there whatever the pool does. 96 is where a
    /// 120-link export failed before the pool was sized from the limit.
    /// </summary>
    private const int MountLimit = 96;

    /// <summary>The deepest chain qemu-img is asked to read here (see <see cref="DeepChainUnderLimit"/>).</summary>
    private const int QemuMaxLinks = 500;

    [Fact]
    public void Chain_of_120_links_is_opened_exported_and_extracted_under_ulimit_64_and_mounted_under_96() => DeepChainUnderLimit(120, null);

    [Fact]
    public void Chain_of_2000_links_is_opened_exported_and_extracted_under_ulimit_64_and_mounted_under_96() => DeepChainUnderLimit(2_000, null);

    [Theory]
    [InlineData(64, 20, 10)]
    [InlineData(64, 60, 1)]
    [InlineData(1024, 30, 485)]
    [InlineData(1_048_576, 30, DescriptorBudget.MaxPoolHandles)]
    public void Pool_capacity_is_half_of_what_the_limit_leaves_after_the_descriptors_in_use(long limit, int inUse, int expected) =>
        Assert.Equal(expected, DescriptorBudget.PoolCapacity(limit, inUse));

    [Fact]
    public void Descriptors_in_use_are_counted_from_proc()
    {
        int before = DescriptorBudget.DescriptorsInUse() ?? throw new InvalidOperationException("no /proc/self/fd");
        var held = Enumerable.Range(0, 10).Select(_ => File.OpenHandle("/etc/hostname")).ToList();
        try
        {
            // Other threads of the test run open and close files meanwhile: allow some noise, never less than ours.
            Assert.InRange(DescriptorBudget.DescriptorsInUse()!.Value - before, 8, 40);
        }
        finally
        {
            held.ForEach(h => h.Dispose());
        }
    }

    private void DeepChainUnderLimit(int links, IDictionary<string, string>? env)
    {
        string image = TestImages.Get("limits-ext");
        string raw = Path.Combine(image, "disk.raw");
        var manifest = VolumeManifest.Read(image);
        string scratch = RepoPaths.NewScratch($"limits-{links}");
        string chain = Path.Combine(scratch, "chain");
        string mnt = Path.Combine(scratch, "mnt");
        string state = Path.Combine(scratch, "state");
        Directory.CreateDirectory(chain);
        Directory.CreateDirectory(mnt);
        try
        {
            string top = FsChain.Build(chain, raw, links);
            // The oracle: qemu-img (given all the descriptors the hard limit allows: it keeps every link open) reads
            // the chain as the disk it was made from. qemu-img 7.2 dies of SIGSEGV on the 2,000-link chain (its
            // block-status walk recurses through the backing chain on a coroutine's fixed stack), so there the
            // oracle is the disk the chain was made from, the same bytes qemu reads from the 120-link chain.
            string diskHash = Hashing.Sha256File(raw);
            if (links <= QemuMaxLinks)
            {
                string qemuRaw = Path.Combine(scratch, "qemu.raw");
                Tool.Run("/bin/bash", ["-c", "ulimit -n \"$(ulimit -Hn)\" && exec qemu-img convert -O raw \"$0\" \"$1\"", top, qemuRaw], timeout: TimeSpan.FromMinutes(5));
                Assert.Equal(diskHash, Hashing.Sha256File(qemuRaw));
                File.Delete(qemuRaw);
            }

            var info = LimitedCli.Run(Limit, ["info", top], env);
            Assert.True(info.ExitCode == 0, info.StdErr + info.StdOut);
            Assert.Contains($"links:    {links}", info.StdOut);

            string exported = Path.Combine(scratch, "export.raw");
            var export = LimitedCli.Run(Limit, ["export", top, exported], env);
            Assert.True(export.ExitCode == 0, export.StdErr + export.StdOut);
            Assert.Equal(diskHash, Hashing.Sha256File(exported));
            File.Delete(exported);

            string dest = Path.Combine(scratch, "restored");
            var extract = LimitedCli.Run(Limit, ["extract", top, "p1:/", dest], env);
            Assert.True(extract.ExitCode == 0, extract.StdErr + extract.StdOut);
            manifest.AssertTree(dest);
            Directory.Delete(dest, recursive: true);

            var mount = LimitedCli.Run(MountLimit, ["mount", top, mnt, "--raw", "--state-dir", state], env);
            Assert.True(mount.ExitCode == 0 && MountTable.Find(mnt) is not null, mount.StdErr + mount.StdOut);
            int pid = new MountState(state).Find(mnt)?.Pid ?? throw new InvalidOperationException("no state record");
            Assert.Equal(MountLimit, LimitedCli.OpenFileLimitOf(pid));
            Assert.Equal(diskHash, Hashing.Sha256File(Path.Combine(mnt, "disk.img")));
            manifest.AssertTree(Path.Combine(mnt, "p1"));
            // Eight readers at once: the pool's handles are shared, never more than the limit allows.
            Parallel.ForEach(manifest.Files.Take(64), new ParallelOptions { MaxDegreeOfParallelism = 8 },
                f => Assert.Equal(f.HashOrTarget, Hashing.Sha256File(Path.Combine(mnt, "p1") + f.Path)));
            int fds = LimitedCli.DescriptorCount(pid);
            log.WriteLine($"{links} links: mount process holds {fds} descriptors under ulimit -n {MountLimit}");
            Assert.True(fds <= MountLimit, $"{fds} descriptors");
        }
        finally
        {
            LimitedCli.Unmount(mnt, state);
            LimitedCli.DeleteScratch(scratch);
        }
    }
}
