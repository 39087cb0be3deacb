using System.Buffers;
using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using VmdkMount.Core.Disks;

namespace VmdkMount.Cli.Commands;

/// <summary>
/// `vmdkmount export DISK OUT`: the flattened disk as a raw image. Only allocated ranges are written (and all-zero
/// chunks inside them are skipped), so OUT is sparse where the disk is; a progress bar shows on a terminal.
/// </summary>
internal static class ExportCommand
{
    private const int ChunkBytes = 4 << 20;

    public static Command Create()
    {
        var disk = CliCommon.DiskArgument();
        var output = new Argument<string>("OUT") { Description = "raw image file to write (replaced if it exists)" };
        var json = CliCommon.JsonOption();
        var ignoreCid = CliCommon.IgnoreCidOption();
        var raw = CliCommon.RawInputOption();
        var recover = RecoverOption.Create();
        var command = new Command("export", "the flattened disk as a raw image (sparse where unallocated), progress shown") { disk, output, json, ignoreCid, raw, recover };
        command.SetAction(p => CliCommon.Run(() =>
        {
            string source = p.GetValue(disk)!;
            string dest = p.GetValue(output)!;
            using var d = DiskOpener.Open(source, CliCommon.DiskOptions(p, ignoreCid, raw) with { RecoverTruncatedStreams = p.GetValue(recover) });
            if (File.Exists(dest) && Path.GetFullPath(dest) == Path.GetFullPath(source))
                throw new ArgumentException($"{dest}: output is the input");
            var ranges = d.QueryAllocated(0, d.Length).ToList();
            long toCopy = ranges.Sum(r => r.Length);
            long written = 0;
            bool progress = !p.GetValue(json) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
            var started = DateTime.UtcNow;
            if (progress)
            {
                AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask(Path.GetFileName(dest), maxValue: Math.Max(1, toCopy));
                        written = Copy(d, dest, ranges, n => task.Increment(n));
                    });
            }
            else
            {
                written = Copy(d, dest, ranges, _ => { });
            }
            double seconds = (DateTime.UtcNow - started).TotalSeconds;
            if (p.GetValue(json))
            {
                Console.WriteLine(new JsonObject
                {
                    ["source"] = d.Source,
                    ["output"] = dest,
                    ["capacity"] = d.Length,
                    ["allocatedBytes"] = toCopy,
                    ["writtenBytes"] = written,
                    ["seconds"] = Math.Round(seconds, 3),
                }.ToJsonString(DiskJson.Options));
            }
            else
            {
                Console.WriteLine($"exported {DiskJson.Human(d.Length)} to {dest} ({DiskJson.Human(toCopy)} allocated, {DiskJson.Human(written)} written, {seconds:0.0} s)");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// Copies the allocated ranges in chunks with a few workers: reads are thread-safe and writes positional, so
    /// reading one chunk overlaps writing another. Returns the bytes written (all-zero chunks are left as holes).
    /// </summary>
    private static long Copy(IVirtualDisk d, string dest, List<AllocatedRange> ranges, Action<long> advance)
    {
        long written = 0;
        using var outFile = new FileStream(dest, FileMode.Create, FileAccess.Write, FileShare.Read, 1, FileOptions.None);
        outFile.SetLength(d.Length);
        var handle = outFile.SafeFileHandle;
        var chunks = ranges.SelectMany(r => Chunks(r)).ToList();
        var gate = new object();
        try
        {
            CopyChunks(d, handle, chunks, gate, advance, ref written);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // One typed error (corrupt grain, unreadable file) is what the user needs, not the parallel wrapper.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        return written;
    }

    private static void CopyChunks(IVirtualDisk d, Microsoft.Win32.SafeHandles.SafeFileHandle handle, List<(long Offset, int Length)> chunks,
        object gate, Action<long> advance, ref long writtenTotal)
    {
        long written = 0;
        Parallel.ForEach(chunks, new ParallelOptions { MaxDegreeOfParallelism = Math.Clamp(Environment.ProcessorCount, 2, 4) }, c =>
        {
            var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
            try
            {
                var span = buffer.AsSpan(0, c.Length);
                if (d.ReadAt(c.Offset, span) != c.Length) throw new IOException($"{d.Source}: short read at offset {c.Offset}");
                if (span.ContainsAnyExcept((byte)0))
                {
                    RandomAccess.Write(handle, span, c.Offset);
                    Interlocked.Add(ref written, c.Length);
                }
                lock (gate) advance(c.Length);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        });
        writtenTotal = written;
    }

    private static IEnumerable<(long Offset, int Length)> Chunks(AllocatedRange r)
    {
        for (long pos = r.Offset; pos < r.End;)
        {
            int n = (int)Math.Min(ChunkBytes - pos % ChunkBytes, r.End - pos);
            yield return (pos, n);
            pos += n;
        }
    }
}
