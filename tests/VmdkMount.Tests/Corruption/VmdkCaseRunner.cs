using System.Security.Cryptography;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Corruption;

/// <summary>The intact chain's data, in chunks: a bounded, evenly spread sample of the allocated ones, hashed.</summary>
public sealed record IntactDisk(long Capacity, IReadOnlyList<(long Offset, string Hash)> Chunks)
{
    public const int ChunkBytes = 64 * 1024;
    public const int MaxChunks = 160;

    public static IntactDisk Of(IVirtualDisk disk)
    {
        var all = new List<long>();
        foreach (var r in disk.QueryAllocated(0, disk.Length))
            for (long at = r.Offset / ChunkBytes * ChunkBytes; at < r.End && all.Count < 1_000_000; at += ChunkBytes) all.Add(at);
        all = all.Distinct().ToList();
        var picked = Enumerable.Range(0, Math.Min(MaxChunks, all.Count)).Select(i => all[(int)((long)i * all.Count / Math.Min(MaxChunks, all.Count))]).ToList();
        var buffer = new byte[ChunkBytes];
        return new IntactDisk(disk.Length, picked.Select(at => (at, Hash(disk, at, buffer))).ToList());
    }

    public static string Hash(IReadAt disk, long at, byte[] buffer)
    {
        int n = (int)Math.Min(buffer.Length, disk.Length - at);
        int got = 0;
        while (got < n)
        {
            int r = disk.ReadAt(at + got, buffer.AsSpan(got, n - got));
            if (r <= 0) break;
            got += r;
        }
        return Convert.ToHexString(SHA256.HashData(buffer.AsSpan(0, got)));
    }
}

/// <summary>
/// Opens a corrupted chain case through the VMDK layer (the corrupted file seen through <see cref="PatchedSourceStore"/>),
/// reads the intact image's sampled chunks, asks the allocation map and checks every link: typed errors are outcomes,
/// chunks the corruption did not map must read as before, and each link's check reports each problem once.
/// </summary>
public static class VmdkCaseRunner
{
    public static CaseResult Run(CorruptionCase c, string top, IntactDisk intact) =>
        BoundedRun.Run(c, () =>
        {
            var store = new PatchedSourceStore(c.File ?? top, c.Patches, c.TruncateTo);
            VmdkDisk disk;
            try
            {
                disk = VmdkDisk.OpenChain(top, new DiskOpenOptions(), store);
            }
            catch (VmdkMountException e)
            {
                return (CaseOutcome.CleanError, Named(e, c), e.Message);
            }
            using (disk)
            {
                int errors = 0;
                string? finding = null, first = null;
                var buffer = new byte[IntactDisk.ChunkBytes];
                foreach (var (at, hash) in intact.Chunks)
                {
                    try
                    {
                        string now = at < disk.Length ? IntactDisk.Hash(disk, at, buffer) : "";
                        if (now != hash && !c.Touch.Covers(at, IntactDisk.ChunkBytes))
                            finding ??= $"wrong bytes at virtual offset {at} (not mapped by the corrupted structure)";
                    }
                    catch (VmdkMountException e)
                    {
                        errors++;
                        first ??= e.Message;
                        finding ??= Named(e, c);
                    }
                }
                try
                {
                    _ = disk.QueryAllocated(0, disk.Length).Take(100_000).Count();
                }
                catch (VmdkMountException e)
                {
                    errors++;
                    first ??= e.Message;
                }
                foreach (var link in disk.Links)
                {
                    try
                    {
                        var problems = link.Check();
                        var twice = problems.GroupBy(p => p).FirstOrDefault(g => g.Count() > 1);
                        if (twice is not null) finding ??= $"check of {link.Path} reported a problem {twice.Count()} times: {twice.Key}";
                    }
                    catch (VmdkMountException e)
                    {
                        first ??= e.Message;
                    }
                }
                if (disk.Length != intact.Capacity) errors++;
                return (errors == 0 ? CaseOutcome.OpenedFine : CaseOutcome.PartiallyReadable, finding, first);
            }
        });

    /// <summary>A clear error names a file of the chain (which link of a 500-link chain is damaged).</summary>
    private static string? Named(VmdkMountException e, CorruptionCase c) =>
        e.Message.Contains(".vmdk", StringComparison.Ordinal) ? null : $"error names no file: {e.Message}";
}
