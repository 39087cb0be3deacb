using BenchmarkDotNet.Attributes;
using VmdkMount.Core.Disks;

namespace VmdkMount.Benchmarks;

/// <summary>Random 64 KiB reads from the 1 GiB base alone and through the 100-link chain on top of it (owner map warm).</summary>
[MemoryDiagnoser]
public class ChainReadBenchmarks
{
    private IVirtualDisk _disk = null!;
    private readonly byte[] _buffer = new byte[65536];
    private long[] _offsets = [];
    private int _next;

    [Params("base.vmdk", "chain100/top.vmdk")]
    public string Disk { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        string dir = Environment.GetEnvironmentVariable("VMDKMOUNT_BENCH_DIR") ?? throw new InvalidOperationException("set VMDKMOUNT_BENCH_DIR (bench/engine.sh does)");
        _disk = DiskOpener.Open(Path.Combine(dir, Disk));
        var rnd = new Random(1);
        _offsets = Enumerable.Range(0, 4096).Select(_ => rnd.NextInt64(0, _disk.Length / 65536) * 65536).ToArray();
        foreach (var o in _offsets) _disk.ReadAt(o, _buffer);
    }

    [Benchmark]
    public int Read64K() => _disk.ReadAt(_offsets[_next++ & 4095], _buffer);

    [GlobalCleanup]
    public void Cleanup() => _disk.Dispose();
}
