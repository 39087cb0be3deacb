using SharpFuzz;
using VmdkMount.Fuzz;
using VmdkMount.Fuzz.Harnesses;

// The fuzzing front door; tests/fuzz/run.sh is its user.
//   list                          the harnesses and what each reaches
//   run NAME                      one harness under afl-fuzz (SharpFuzz's fork server; once, on stdin, outside AFL)
//   seeds NAME OUTDIR             writes the harness's seed corpus (made from the test images)
//   replay NAME FILE...           runs inputs in-process; prints each finding; exit 1 when there is one
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: VmdkMount.Fuzz list | run NAME | seeds NAME OUTDIR | replay NAME FILE...");
    return 2;
}
if (args[0] == "list")
{
    foreach (var h in FuzzHarnesses.All) Console.WriteLine($"{h.Name,-14} {h.Parsers}");
    return 0;
}
if (args.Length < 2 || FuzzHarnesses.Find(args[1]) is not { } harness)
{
    Console.Error.WriteLine($"fuzz: no harness '{(args.Length > 1 ? args[1] : "")}' (one of {string.Join(", ", FuzzHarnesses.All.Select(h => h.Name))})");
    return 2;
}
switch (args[0])
{
    case "run":
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var m = new MemoryStream();
            stream.CopyTo(m);
            harness.Run(m.ToArray());
        });
        return 0;
    case "seeds" when args.Length == 3:
        Directory.CreateDirectory(args[2]);
        int count = 0;
        foreach (var seed in harness.Seeds(ImageSets.Find))
        {
            File.WriteAllBytes(Path.Combine(args[2], seed.Name), seed.Bytes);
            count++;
        }
        Console.WriteLine($"{harness.Name}: {count} seeds in {args[2]}");
        return count > 0 ? 0 : 1;
    case "replay":
        int findings = 0;
        foreach (var file in args.Skip(2))
        {
            try
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                long before = GC.GetAllocatedBytesForCurrentThread();
                harness.Run(File.ReadAllBytes(file));
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                Console.WriteLine($"{file}: {clock.ElapsedMilliseconds} ms, {allocated >> 20} MiB allocated, {FileSystemWalk.LastNodes} entries, {VmdkWalk.LastRuns} runs");
            }
            catch (Exception e)
            {
                findings++;
                Console.WriteLine($"{file}: {e}");
            }
        }
        return findings > 0 ? 1 : 0;
    default:
        Console.Error.WriteLine($"fuzz: unknown command '{args[0]}'");
        return 2;
}
