using BenchmarkDotNet.Attributes;
using VmdkMount.Core.Disks;

namespace VmdkMount.Benchmarks;

/// <summary>Open + close of a 2 TB sparse disk and of a 1,000-link chain: lazy metadata keeps both small.</summary>
[MemoryDiagnoser]
public class OpenBenchmarks
{
    [Params("big2t.vmdk", "chain1000/top.vmdk")]
    public string Disk { get; set; } = "";

    private string _path = "";

    [GlobalSetup]
    public void Setup() =>
        _path = Path.Combine(Environment.GetEnvironmentVariable("VMDKMOUNT_BENCH_DIR") ?? throw new InvalidOperationException("set VMDKMOUNT_BENCH_DIR"), Disk);

    [Benchmark]
    public long Open()
    {
        using var d = DiskOpener.Open(_path);
        return d.Length;
    }
}
