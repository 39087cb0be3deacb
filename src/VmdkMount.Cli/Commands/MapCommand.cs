using System.CommandLine;
using System.Text.Json.Nodes;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;

namespace VmdkMount.Cli.Commands;

/// <summary>
/// `vmdkmount map DISK [--json]`: the allocated byte ranges of the flattened disk, each with the chain link (0 =
/// newest) and, as `qemu-img map` names it, the file that holds its bytes (the link's extent file; a range is split
/// where it crosses from one extent file to the next).
/// </summary>
internal static class MapCommand
{
    public static Command Create()
    {
        var options = new DiskCommandOptions();
        var command = options.CreateCommand("map", "the ranges of the flattened disk that hold data, and which link of the chain holds each");
        command.SetAction(p => CliCommon.Run(() =>
        {
            using var d = options.OpenDisk(p);
            bool asJson = p.GetValue(options.Json);
            var ranges = new JsonArray();
            long total = 0;
            if (!asJson) Console.WriteLine($"{"offset",20} {"length",20} {"end",20}  link  file");
            foreach (var r in ByFile(d, Runs(d)))
            {
                total += r.Length;
                if (asJson) ranges.Add((JsonNode)new JsonObject { ["offset"] = r.Offset, ["length"] = r.Length, ["link"] = r.Link, ["file"] = r.File });
                else Console.WriteLine($"{r.Offset,20} {r.Length,20} {r.Offset + r.Length,20}  {r.Link,4}  {TerminalText.ForDiagnostic(r.File)}");
            }
            if (asJson)
            {
                var doc = new JsonObject
                {
                    ["disk"] = DiskJson.Disk(d, d is IDiskChain v ? v.Links.Count : 1),
                    ["allocatedBytes"] = total,
                    ["ranges"] = ranges,
                    ["warnings"] = new JsonArray(d.Warnings.Select(w => (JsonNode?)JsonValue.Create(w)).ToArray()),
                };
                Console.WriteLine(doc.ToJsonString(DiskJson.Options));
            }
            else
            {
                Console.WriteLine($"allocated: {total} bytes ({DiskJson.Human(total)}) of {d.Length}");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>Each run cut at the extent boundaries of its link, named by the file of the extent it lies in.</summary>
    private static IEnumerable<(long Offset, long Length, int Link, string File)> ByFile(IVirtualDisk d, IEnumerable<(long Offset, long Length, int Link)> runs)
    {
        foreach (var (offset, length, link) in runs)
        {
            if (d is not IDiskChain v || link < 0 || link >= v.Links.Count)
            {
                yield return (offset, length, link, d.Source);
                continue;
            }
            var extents = v.Links[link].Extents;
            long at = offset, end = offset + length;
            // extents are in disk order and do not overlap; a run is walked once, extent by extent
            int i = FirstExtentEndingAfter(extents, at);
            while (at < end)
            {
                if (i >= extents.Count)
                {
                    yield return (at, end - at, link, v.Links[link].Path);
                    break;
                }
                var e = extents[i];
                long stop = Math.Min(end, e.End);
                if (e.Start > at) stop = Math.Min(end, e.Start);
                yield return (at, stop - at, link, e.Start <= at ? e.Extent.FileName : v.Links[link].Path);
                at = stop;
                if (at >= e.End) i++;
            }
        }
    }

    private static int FirstExtentEndingAfter(IReadOnlyList<VmdkMount.Core.Disks.Vmdk.PlacedExtent> extents, long offset)
    {
        int lo = 0, hi = extents.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (extents[mid].End <= offset) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>Allocated runs with the chain link (0 = newest) that supplies each; a raw image is one run of link 0.</summary>
    private static IEnumerable<(long Offset, long Length, int Link)> Runs(IVirtualDisk d)
    {
        if (d is not IDiskChain v)
        {
            foreach (var r in d.QueryAllocated(0, d.Length)) yield return (r.Offset, r.Length, 0);
            yield break;
        }
        long start = -1, end = -1;
        int link = -1;
        foreach (var o in v.Owners(0, v.Length))
        {
            if (o.State != GrainState.Data) continue;
            if (o.Start == end && o.Link == link) { end = o.End; continue; }
            if (start >= 0) yield return (start, end - start, link);
            (start, end, link) = (o.Start, o.End, o.Link);
        }
        if (start >= 0) yield return (start, end - start, link);
    }
}
