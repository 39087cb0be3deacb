using System.CommandLine;
using System.Text.Json.Nodes;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount map DISK [--json]`: the allocated byte ranges of the flattened disk (QueryAllocatedBlocks).</summary>
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
            if (!asJson) Console.WriteLine($"{"offset",20} {"length",20} {"end",20}  link");
            foreach (var r in Runs(d))
            {
                total += r.Length;
                if (asJson) ranges.Add((JsonNode)new JsonObject { ["offset"] = r.Offset, ["length"] = r.Length, ["link"] = r.Link });
                else Console.WriteLine($"{r.Offset,20} {r.Length,20} {r.Offset + r.Length,20}  {r.Link}");
            }
            if (asJson)
            {
                var doc = new JsonObject
                {
                    ["disk"] = DiskJson.Disk(d, d is IDiskChain v ? v.Links.Count : 1),
                    ["allocatedBytes"] = total,
                    ["ranges"] = ranges,
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
