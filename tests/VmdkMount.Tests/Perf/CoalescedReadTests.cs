using VmdkMount.Core.Disks;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Perf;

/// <summary>
/// Large reads that the sparse extent serves with one pread per run of back-to-back grains return exactly what
/// `qemu-img convert -O raw` flattens, whatever the read size and alignment, across grains owned by different links,
/// grains adjacent on the disk but not in the file, partial grains and a grain-table boundary.
/// </summary>
public class CoalescedReadTests
{
    private static string Images => TestImages.Get("perf-coalesce");

    public static TheoryData<string, int, int> Cases => new()
    {
        { "base", 0, 1 << 20 },
        { "base", 12345, (3 << 20) + 517 },
        { "base", 0, 40 << 20 },
        { "child", 0, 1 << 20 },
        { "child", 65536 - 1, (1 << 20) + 65536 + 3 },
        { "child", 0, 40 << 20 },
        { "child", 511, 200 * 1024 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Sequential_reads_match_qemu_convert(string name, int start, int chunk)
    {
        byte[] raw = File.ReadAllBytes(Path.Combine(Images, name + ".raw"));
        using var disk = DiskOpener.Open(Path.Combine(Images, name + ".vmdk"));
        Assert.Equal(raw.LongLength, disk.Length);
        var buffer = new byte[chunk];
        for (long pos = start; pos < raw.Length;)
        {
            int n = disk.ReadAt(pos, buffer);
            Assert.Equal((int)Math.Min(chunk, raw.Length - pos), n);
            if (!buffer.AsSpan(0, n).SequenceEqual(raw.AsSpan((int)pos, n)))
                Assert.Fail($"{name}: bytes differ from qemu-img convert in the {n}-byte read at offset {pos}");
            pos += n;
        }
    }
}
