using System.Buffers;
using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using VmdkMount.Cli.Restore;
using VmdkMount.Cli.Restore.Native;
using VmdkMount.Core.Disks;

namespace VmdkMount.Cli.Commands;

/// <summary>
/// `vmdkmount export DISK OUT`: the flattened disk as a raw image. Only allocated ranges are written (and all-zero
/// chunks inside them are skipped), so OUT is sparse where the disk is; a progress bar shows on a terminal.
/// OUT is written as a temporary beside it and renamed over OUT when complete: on failure or Ctrl-C/SIGTERM the
/// temporary is removed and an existing OUT is untouched. An OUT that is a file of the opened chain (under any name:
/// a link to it, a hard link of it) or an existing directory is refused before anything is written (exit 2). A
/// symlink at OUT is replaced by the image, not written through.
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
        var quiet = ProgressBars.QuietOption("no progress bar");
        var command = new Command("export", "the flattened disk as a raw image (sparse where unallocated), progress shown on a terminal") { disk, output, json, ignoreCid, raw, recover, quiet };
        command.SetAction(p => CliCommon.Run(() =>
        {
            string source = p.GetValue(disk)!;
            string dest = p.GetValue(output)!;
            RawArguments.RequireUtf8(dest, "OUT");
            using var d = DiskOpener.Open(source, CliCommon.DiskOptions(p, ignoreCid, raw) with { RecoverTruncatedStreams = p.GetValue(recover) });
            RefuseOutput(d, dest);
            var ranges = d.QueryAllocated(0, d.Length).ToList();
            long toCopy = ranges.Sum(r => r.Length);
            long written = 0;
            bool progress = ProgressBars.Wanted(p.GetValue(quiet), p.GetValue(json));
            var started = DateTime.UtcNow;
            using var interruption = new Interruption();
            try
            {
                if (progress)
                {
                    ProgressBars.ForBytes(ProgressBars.ErrorConsole())
                        .Start(ctx =>
                        {
                            var task = ctx.AddTask(Markup.Escape(TerminalText.ForDiagnostic(Path.GetFileName(dest))), maxValue: Math.Max(1, toCopy));
                            written = CopyThenRename(d, dest, ranges, n => task.Increment(n), interruption.Token);
                        });
                }
                else
                {
                    written = CopyThenRename(d, dest, ranges, _ => { }, interruption.Token);
                }
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"vmdkmount: interrupted: 0 files restored, 0 bytes; {dest} is unchanged");
                return Interruption.ExitCode;
            }
            catch (Core.Errors.VmdkMountException)
            {
                // The input is damaged: the usual exit 2 of a disk that cannot be read, after saying OUT is unchanged.
                Console.Error.WriteLine($"vmdkmount: interrupted: 0 files restored, 0 bytes; {dest} is unchanged");
                throw;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"vmdkmount: {e.Message}");
                Console.Error.WriteLine($"vmdkmount: interrupted: 0 files restored, 0 bytes; {dest} is unchanged");
                return ExitCodes.Problems;
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

    /// <summary>Refuses (exit 2) an OUT that is an existing directory or any file of the opened chain.</summary>
    private static void RefuseOutput(IVirtualDisk d, string dest)
    {
        PosixAt.ThrowIfNotLinux();
        if (Directory.Exists(dest))
            throw new ArgumentException($"{dest}: is a directory; export writes one image file, name it (e.g. {Path.Combine(dest, "disk.img")})");
        new ChainFileSet(d.SourceFiles).RefuseIfChainFile(dest, "OUT");
    }

    /// <summary>
    /// Writes the image under a temporary name in OUT's folder (O_EXCL, no-follow) and renames it over OUT when
    /// complete; any failure or cancellation removes the temporary.
    /// </summary>
    private static long CopyThenRename(IVirtualDisk d, string dest, List<AllocatedRange> ranges, Action<long> advance, CancellationToken cancel)
    {
        string full = Path.GetFullPath(dest);
        var folder = DestinationTree.OpenUserDirectory(Path.GetDirectoryName(full) ?? "/");
        try
        {
            var tree = new DestinationTree(new ChainFileSet(d.SourceFiles));
            string name = Path.GetFileName(full);
            var (fd, temp) = tree.CreateTemporaryFile(folder, name);
            try
            {
                long written;
                using (var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true))
                    written = Copy(d, handle, ranges, advance, cancel);
                tree.Commit(folder, temp, name);
                return written;
            }
            catch
            {
                DestinationTree.RemoveTemporary(folder, temp);
                throw;
            }
        }
        finally
        {
            folder.Release();
        }
    }

    /// <summary>
    /// Copies the allocated ranges in chunks with a few workers: reads are thread-safe and writes positional, so
    /// reading one chunk overlaps writing another. Returns the bytes written (all-zero chunks are left as holes).
    /// </summary>
    private static long Copy(IVirtualDisk d, Microsoft.Win32.SafeHandles.SafeFileHandle handle, List<AllocatedRange> ranges,
        Action<long> advance, CancellationToken cancel)
    {
        long written = 0;
        RandomAccess.SetLength(handle, d.Length);
        // Lazily: only the allocated ranges are cut into chunks, so holes cost nothing however large the disk.
        var chunks = ranges.SelectMany(r => Chunks(r));
        var gate = new object();
        try
        {
            CopyChunks(d, handle, chunks, gate, advance, cancel, ref written);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // One typed error (corrupt grain, unreadable file) is what the user needs, not the parallel wrapper.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        return written;
    }

    private static void CopyChunks(IVirtualDisk d, Microsoft.Win32.SafeHandles.SafeFileHandle handle, IEnumerable<(long Offset, int Length)> chunks,
        object gate, Action<long> advance, CancellationToken cancel, ref long writtenTotal)
    {
        long written = 0;
        // At least 4 even on 2 cores: a worker writing its chunk leaves the source idle, and a remote source needs requests
        // in flight to hide its round trips.
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Clamp(Environment.ProcessorCount, 4, 8), CancellationToken = cancel };
        Parallel.ForEach(chunks, options, c =>
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
