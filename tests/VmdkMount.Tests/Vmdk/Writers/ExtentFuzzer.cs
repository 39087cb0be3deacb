using System.Buffers.Binary;
using System.Diagnostics;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Vmdk.Writers;

/// <summary>
/// Mutates the metadata of a good extent file many times (seeded, so failures replay) and proves that opening,
/// mapping every byte, reading every Data run and checking either work or raise one of our typed errors: never
/// another exception type, never a hang.
/// </summary>
public static class ExtentFuzzer
{
    public static void Run(string goodPath, long metadataBytes, Func<IReadAt, string, IExtent> open, int iterations, int seed)
    {
        byte[] good = File.ReadAllBytes(goodPath);
        string dir = Path.GetDirectoryName(goodPath)!;
        string path = Path.Combine(dir, "fuzz-" + Path.GetFileName(goodPath));
        var rnd = new Random(seed);
        var buf = new byte[1 << 20];
        int rejected = 0;
        for (int i = 0; i < iterations; i++)
        {
            byte[] bad = (byte[])good.Clone();
            int edits = 1 + rnd.Next(4);
            for (int k = 0; k < edits; k++) Mutate(bad, (int)Math.Min(metadataBytes, bad.Length), rnd);
            if (rnd.Next(10) == 0) bad = bad[..rnd.Next(bad.Length)];
            File.WriteAllBytes(path, bad);
            var sw = Stopwatch.StartNew();
            try
            {
                using var file = LocalSourceStore.OpenFile(path);
                using var extent = open(file, path);
                long off = 0;
                int runs = 0;
                while (off < extent.Length)
                {
                    var run = extent.Map(off);
                    Assert.InRange(run.Length, 1, extent.Length - off);
                    if (run.State == GrainState.Data)
                    {
                        long n = Math.Min(run.Length, buf.Length);
                        extent.ReadData(off, buf.AsSpan(0, (int)n));
                        off += n;
                    }
                    else
                    {
                        off += run.Length;
                    }
                    Assert.True(++runs < 10_000_000, "too many runs");
                }
                extent.Check();
            }
            catch (VmdkMountException)
            {
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"iteration {i} (seed {seed}): {e.GetType().Name} escaped: {e}");
            }
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"iteration {i} (seed {seed}) took {sw.Elapsed}");
        }
        File.Delete(path);
        Assert.True(rejected > 0, "no mutation was rejected: the fuzzer is not reaching the parser");
    }

    private static void Mutate(byte[] data, int limit, Random rnd)
    {
        int at = rnd.Next(limit);
        switch (rnd.Next(5))
        {
            case 0:
                data[at] = (byte)rnd.Next(256);
                break;
            case 1 when at + 4 <= data.Length:
                BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(at & ~3), (uint)rnd.NextInt64(0, 1L << 32));
                break;
            case 2 when at + 8 <= data.Length:
                BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(at & ~7), (ulong)rnd.NextInt64() << rnd.Next(2));
                break;
            case 3 when at + 8 <= data.Length:
                // a small value: a plausible sector, index or size
                BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(at & ~3), (uint)rnd.Next(100_000));
                break;
            default:
                data[at] ^= (byte)(1 << rnd.Next(8));
                break;
        }
    }
}
