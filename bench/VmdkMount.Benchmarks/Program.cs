using System.Diagnostics;
using BenchmarkDotNet.Running;
using VmdkMount.Core.Disks;

namespace VmdkMount.Benchmarks;

/// <summary>
/// `quick open PATH [RUNS]`, `quick read PATH` and `quick rand PATH [SIZE]` print one number each (used by bench/engine.sh for side-by-side
/// tables); anything else goes to BenchmarkDotNet (images named by VMDKMOUNT_BENCH_DIR, made by engine.sh).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length >= 3 && args[0] == "quick")
        {
            return args[1] switch
            {
                "open" => QuickOpen(args[2], args.Length > 3 ? int.Parse(args[3]) : 7),
                "read" => QuickRead(args[2]),
                "rand" => QuickRandom(args[2], args.Length > 3 ? int.Parse(args[3]) : 65536),
                "file" => QuickFile(args[2], args.Length > 3 ? args[3] : "disk:/big.bin", args.Length > 4 ? int.Parse(args[4]) : 128 * 1024),
                _ => 2,
            };
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }

    /// <summary>Median wall time of opening the disk (headers and descriptors of every link) and closing it, in ms.</summary>
    private static int QuickOpen(string path, int runs)
    {
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            using (DiskOpener.Open(path)) { }
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        Console.WriteLine($"{times[times.Count / 2]:0.00}");
        return 0;
    }

    /// <summary>
    /// Warm random reads of <paramref name="size"/> bytes (every offset read once first), in microseconds per read.
    /// VMDKMOUNT_BENCH_NO_CACHE=1 opens without the block cache (a remote DISK has one by default) and with a 1 MiB budget.
    /// </summary>
    private static int QuickRandom(string path, int size)
    {
        // Without the cache: no block cache in front of an NBD export, and a 1 MiB budget (the least a mount accepts)
        // for an HTTP chain, whose files are always read through their read-ahead cache: it then holds next to nothing.
        bool noCache = Environment.GetEnvironmentVariable("VMDKMOUNT_BENCH_NO_CACHE") == "1";
        var options = noCache
            ? new DiskOpenOptions { BlockCache = false, Cache = new VmdkMount.Core.Caching.CacheBudget(1L << 20) }
            : new DiskOpenOptions();
        using var disk = DiskOpener.Open(path, options);
        var buf = new byte[size];
        var rnd = new Random(1);
        var offsets = Enumerable.Range(0, 16384).Select(_ => rnd.NextInt64(0, disk.Length / size) * size).ToArray();
        foreach (var o in offsets) disk.ReadAt(o, buf);
        var sw = Stopwatch.StartNew();
        for (int round = 0; round < 4; round++)
            foreach (var o in offsets) disk.ReadAt(o, buf);
        Console.WriteLine($"{sw.Elapsed.TotalMicroseconds / (4 * offsets.Length):0.00}");
        return 0;
    }

    /// <summary>Sequential read of the whole flattened disk in 1 MiB reads, in MiB/s.</summary>
    private static int QuickRead(string path)
    {
        using var disk = DiskOpener.Open(path);
        var buf = new byte[1 << 20];
        var sw = Stopwatch.StartNew();
        for (long pos = 0; pos < disk.Length; pos += buf.Length) disk.ReadAt(pos, buf);
        Console.WriteLine($"{disk.Length / 1048576.0 / sw.Elapsed.TotalSeconds:0}");
        return 0;
    }

    /// <summary>
    /// Sequential read of one file through its filesystem (VOLUME:/path) in reads of the given size (FUSE asks for
    /// 128 KiB at a time), twice: the first pass includes loading the metadata; prints MiB/s of the second.
    /// </summary>
    private static int QuickFile(string path, string target, int chunk)
    {
        int colon = target.IndexOf(':');
        using var mounted = VmdkMount.Core.Mounting.MountedDisk.Open(path);
        var tree = new VmdkMount.Core.Mounting.MountTree(mounted, new VmdkMount.Core.Mounting.MountTreeOptions { SingleVolume = target[..colon] });
        var inode = tree.ResolveFollowingLinks(target[(colon + 1)..], followLast: true, target);
        var fs = inode.FileSystem!;
        var node = inode.Node!;
        var buf = new byte[chunk];
        double mibs = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            var sw = Stopwatch.StartNew();
            long pos = 0;
            for (int n; (n = fs.Read(node.Id, pos, buf)) > 0;) pos += n;
            mibs = pos / 1048576.0 / sw.Elapsed.TotalSeconds;
        }
        Console.WriteLine($"{mibs:0}");
        return 0;
    }
}
