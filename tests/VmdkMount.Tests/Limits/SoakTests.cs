using System.Diagnostics;
using System.Runtime.InteropServices;
using VmdkMount.Fuse;
using VmdkMount.Tests.Infrastructure;
using Xunit.Abstractions;

namespace VmdkMount.Tests.Limits;

/// <summary>
/// Load over time: a FUSE mount of a 120-link chain read by 32 threads at once for <see cref="MountSoak"/> (whole
/// files hashed against the kernel's ext4 manifest, random ranges of disk.img against the disk the chain was made
/// from, random ranges of files against a verified `extract`, and stat, readdir, readlink and getxattr mixed in), then
/// <see cref="Extractors"/> CLI `extract`s of the tree at once for <see cref="ExtractSoak"/>. Every answer must be
/// right; the mount's RSS must stay under its cache budget plus a constant; it must hold the same descriptors and
/// no more threads after the load than before it.
/// </summary>
[Collection("Limits")]
public class SoakTests(ITestOutputHelper log)
{
    private const int Readers = 32;
    /// <summary>The mount's --threads: the most libfuse workers it may start.</summary>
    private const int FuseWorkers = 16;
    private const int Extractors = 4;
    private const int Links = 120;
    private static readonly TimeSpan MountSoak = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ExtractSoak = TimeSpan.FromSeconds(15);
    private const long CacheBudget = 64L << 20;
    /// <summary>What a serving .NET process holds besides its caches (runtime, JIT, heaps of 32 readers' buffers).</summary>
    private const long RssConstant = 256L << 20;

    [DllImport("libc", EntryPoint = "getxattr", SetLastError = true)]
    private static extern nint GetXattr(string path, string name, byte[]? value, nint size);

    [Fact]
    public void Mount_read_by_32_readers_answers_right_within_its_memory_and_leaks_nothing()
    {
        string image = TestImages.Get("limits-ext");
        byte[] disk = File.ReadAllBytes(Path.Combine(image, "disk.raw"));
        var manifest = VolumeManifest.Read(image);
        string scratch = RepoPaths.NewScratch("limits-soak");
        string chain = Path.Combine(scratch, "chain"), mnt = Path.Combine(scratch, "mnt"), state = Path.Combine(scratch, "state");
        string reference = Path.Combine(scratch, "reference");
        Directory.CreateDirectory(chain);
        Directory.CreateDirectory(mnt);
        try
        {
            string top = FsChain.Build(chain, Path.Combine(image, "disk.raw"), Links);
            var x = OurCli.Run("extract", top, "p1:/", reference);
            Assert.True(x.ExitCode == 0, x.StdErr);
            manifest.AssertTree(reference);

            var m = OurCli.Run("mount", top, mnt, "--raw", "--cache-size", "64M", "--threads", FuseWorkers.ToString(System.Globalization.CultureInfo.InvariantCulture), "--state-dir", state);
            Assert.True(m.ExitCode == 0 && MountTable.Find(mnt) is not null, m.StdErr + m.StdOut);
            int pid = new MountState(state).Find(mnt)?.Pid ?? throw new InvalidOperationException("no state record");
            int othersIdle = LimitedCli.ThreadKinds(pid).Others;
            string root = Path.Combine(mnt, "p1");
            long bytes = 0, ops = 0, maxRss = LimitedCli.Rss(pid);
            var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var files = manifest.Files.ToArray();
            var dirs = manifest.Entries.Where(e => e.Type == 'd').Select(e => e.Path).Append("").ToArray();
            var links = manifest.Entries.Where(e => e.Type == 'l').ToArray();
            void Load(TimeSpan duration)
            {
            var deadline = DateTime.UtcNow + duration;
            var readers = Enumerable.Range(0, Readers).Select(r => new Thread(() =>
            {
                var rnd = new Random(r);
                var buf = new byte[256 << 10];
                var want = new byte[256 << 10];
                try
                {
                    while (DateTime.UtcNow < deadline && errors.IsEmpty)
                    {
                        var f = files[rnd.Next(files.Length)];
                        switch (rnd.Next(8))
                        {
                            case 0 or 1:
                                if (Hashing.Sha256File(root + f.Path) != f.HashOrTarget) errors.Enqueue($"{f.Path}: wrong hash");
                                Interlocked.Add(ref bytes, f.Size);
                                break;
                            case 2 or 3:
                            {
                                int len = rnd.Next(1, buf.Length);
                                long off = rnd.NextInt64(0, disk.Length - len);
                                using var h = File.OpenHandle(Path.Combine(mnt, "disk.img"));
                                int n = RandomAccess.Read(h, buf.AsSpan(0, len), off);
                                if (n != len || !buf.AsSpan(0, n).SequenceEqual(disk.AsSpan((int)off, n))) errors.Enqueue($"disk.img at {off}+{len}: wrong bytes");
                                Interlocked.Add(ref bytes, n);
                                break;
                            }
                            case 4:
                            {
                                if (f.Size == 0) break;
                                long off = rnd.NextInt64(0, f.Size);
                                int len = (int)Math.Min(rnd.Next(1, buf.Length), f.Size - off);
                                using var h = File.OpenHandle(root + f.Path);
                                using var w = File.OpenHandle(reference + f.Path);
                                int n = RandomAccess.Read(h, buf.AsSpan(0, len), off);
                                int k = RandomAccess.Read(w, want.AsSpan(0, len), off);
                                if (n != k || !buf.AsSpan(0, n).SequenceEqual(want.AsSpan(0, k))) errors.Enqueue($"{f.Path} at {off}+{len}: wrong bytes");
                                Interlocked.Add(ref bytes, n);
                                break;
                            }
                            case 5:
                            {
                                string d = dirs[rnd.Next(dirs.Length)];
                                int expected = manifest.Entries.Count(e => Path.GetDirectoryName(e.Path) == (d.Length == 0 ? "/" : d)) + (d.Length == 0 ? 1 : 0);
                                int seen = Directory.GetFileSystemEntries(root + d).Length;
                                if (seen != expected) errors.Enqueue($"{d}/: {seen} entries, expected {expected}");
                                if (new FileInfo(root + f.Path).Length != f.Size) errors.Enqueue($"{f.Path}: wrong size");
                                break;
                            }
                            case 6:
                            {
                                var l = links[rnd.Next(links.Length)];
                                string? target = new FileInfo(root + l.Path).LinkTarget;
                                if (target is null || (!l.HashOrTarget.StartsWith('/') && target != l.HashOrTarget)) errors.Enqueue($"{l.Path}: readlink gave {target}");
                                break;
                            }
                            default:
                            {
                                // ext xattrs are not exposed: the call must fail cleanly (ENOTSUP or ENODATA), never hang or invent a value.
                                nint n = GetXattr(root + f.Path, "user.tag1", null, 0);
                                int errno = Marshal.GetLastPInvokeError();
                                if (n >= 0 || errno is not (95 or 61)) errors.Enqueue($"{f.Path}: getxattr gave {n}, errno {errno}");
                                break;
                            }
                        }
                        Interlocked.Increment(ref ops);
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    errors.Enqueue($"reader {r}: {e.Message}");
                }
            })).ToList();
            readers.ForEach(t => t.Start());
            while (readers.Any(t => t.IsAlive))
            {
                maxRss = Math.Max(maxRss, LimitedCli.Rss(pid));
                Thread.Sleep(250);
            }
            Assert.True(errors.IsEmpty, string.Join("\n", errors.Take(10)));
            }

            // Warm-up: the same load for a short time, so every FUSE worker and runtime thread the load needs exists.
            Load(Warmup);
            Thread.Sleep(1000);
            int fdsBefore = LimitedCli.DescriptorCount(pid), threadsBefore = LimitedCli.ThreadCount(pid);
            int runtimeBefore = LimitedCli.ThreadKinds(pid).Runtime;
            bytes = ops = 0;
            Load(MountSoak);
            Thread.Sleep(1000);
            int fdsAfter = LimitedCli.DescriptorCount(pid), threadsAfter = LimitedCli.ThreadCount(pid);
            var (runtimeAfter, othersAfter) = LimitedCli.ThreadKinds(pid);
            log.WriteLine($"soak: {Readers} readers, {MountSoak.TotalSeconds} s, {ops} operations, {bytes / (1 << 20)} MiB verified; " +
                $"max RSS {maxRss >> 20} MiB (budget {CacheBudget >> 20} MiB); fds {fdsBefore} -> {fdsAfter}; threads {threadsBefore} -> {threadsAfter}");
            Assert.True(maxRss <= CacheBudget + RssConstant, $"RSS reached {maxRss >> 20} MiB");
            Assert.True(fdsAfter <= fdsBefore, $"descriptors {fdsBefore} -> {fdsAfter}");
            // Six times the warm-up's work: a leak would grow with it. The runtime's own threads may add 2 (timer,
            // finalizer); libfuse's workers are started on demand, more of them when the machine is busier than during
            // the warm-up, but never more than --threads: past that bound any thread is a leak.
            Assert.True(runtimeAfter <= runtimeBefore + 2, $"runtime threads {runtimeBefore} -> {runtimeAfter} (all threads {threadsBefore} -> {threadsAfter})");
            Assert.True(othersAfter <= othersIdle + FuseWorkers,
                $"{othersAfter} threads besides the runtime's, {othersIdle} when idle: more than the {FuseWorkers} FUSE workers allowed (all threads {threadsBefore} -> {threadsAfter})");
            Assert.True(bytes > 100L << 20, $"only {bytes} bytes read: the soak did not load the mount");
        }
        finally
        {
            LimitedCli.Unmount(mnt, state);
            LimitedCli.DeleteScratch(scratch);
        }
    }

    [Fact]
    public void Parallel_extracts_of_a_tree_all_restore_it_exactly()
    {
        string image = TestImages.Get("limits-ext");
        var manifest = VolumeManifest.Read(image);
        string scratch = RepoPaths.NewScratch("limits-extracts");
        string chain = Path.Combine(scratch, "chain");
        Directory.CreateDirectory(chain);
        try
        {
            string top = FsChain.Build(chain, Path.Combine(image, "disk.raw"), Links);
            long runs = 0;
            var deadline = DateTime.UtcNow + ExtractSoak;
            var sw = Stopwatch.StartNew();
            Parallel.For(0, Extractors, new ParallelOptions { MaxDegreeOfParallelism = Extractors }, w =>
            {
                for (int round = 0; DateTime.UtcNow < deadline; round++)
                {
                    string dest = Path.Combine(scratch, $"dest-{w}-{round}");
                    var r = OurCli.Run("extract", top, "p1:/", dest);
                    Assert.True(r.ExitCode == 0, r.StdErr);
                    manifest.AssertTree(dest);
                    Directory.Delete(dest, recursive: true);
                    Interlocked.Increment(ref runs);
                }
            });
            log.WriteLine($"extract soak: {runs} extracts by {Extractors} at once in {sw.Elapsed.TotalSeconds:F0} s, {runs * manifest.FileBytes / (1 << 20)} MiB verified");
            Assert.True(runs >= Extractors);
        }
        finally
        {
            LimitedCli.DeleteScratch(scratch);
        }
    }
}
