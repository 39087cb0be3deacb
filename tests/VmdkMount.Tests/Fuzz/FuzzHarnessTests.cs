using System.Diagnostics;
using VmdkMount.Fuzz.Harnesses;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Fuzz;

/// <summary>
/// Every fuzzing harness of tests/fuzz, in-process, over its seeds (made from the test images) and a fixed series of
/// mutations of them: each input ends normally or with a typed error, within 1 s, allocating at most 256 MiB; and the
/// seeds reach the parser (a filesystem seed lists entries, a VMDK seed maps runs), so the harness is not testing a
/// wall. The coverage-guided runs (afl-fuzz) are tests/fuzz/run.sh and <see cref="AflSmokeTests"/>.
/// </summary>
public class FuzzHarnessTests
{
    private const int Mutations = 400;
    private static readonly TimeSpan PerInput = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PerHarness = TimeSpan.FromSeconds(4);
    private const long MaxAllocation = 256L << 20;

    public static TheoryData<string> Names() => new(FuzzHarnesses.All.Select(h => h.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void Harness_survives_its_seeds_and_their_mutations(string name)
    {
        var harness = FuzzHarnesses.Find(name)!;
        var seeds = harness.Seeds(TestImages.Get).ToList();
        Assert.NotEmpty(seeds);
        bool reached = false;
        foreach (var seed in seeds)
        {
            RunOne(harness, seed.Bytes, $"seed {seed.Name}");
            reached |= FileSystemWalk.LastNodes > 0 || VmdkWalk.LastRuns > 0;
        }
        // the walks that count entries or runs; the decoders, partition tables and NBD sessions have no such count
        if (name is not ("ntfs-structs" or "nbd" or "partitions" or "lvm"))
            Assert.True(reached, $"{name}: no seed got past the first structure (no entry listed, no run mapped)");
        var rnd = new Random(17);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Mutations && clock.Elapsed < PerHarness; i++)
        {
            var seed = seeds[rnd.Next(seeds.Count)];
            RunOne(harness, DeterministicMutator.Mutate(seed.Bytes, rnd), $"mutation {i} of seed {seed.Name} (Random(17))");
        }
    }

    private static void RunOne(FuzzHarness harness, byte[] input, string what)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        try
        {
            harness.Run(input);
        }
        catch (Exception e)
        {
            Assert.Fail($"{harness.Name}, {what}: {e.GetType().Name} escaped: {e}");
        }
        var took = clock.Elapsed;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated <= MaxAllocation, $"{harness.Name}, {what}: allocated {allocated >> 20} MiB (bound {MaxAllocation >> 20} MiB)");
        if (took > PerInput)
        {
            // a shared CI machine may stall one run: a hang is an input that is slow twice
            clock.Restart();
            harness.Run(input);
            Assert.True(clock.Elapsed <= PerInput, $"{harness.Name}, {what}: took {took.TotalMilliseconds:0} ms, then {clock.Elapsed.TotalMilliseconds:0} ms (bound {PerInput.TotalMilliseconds:0} ms)");
        }
    }
}
