using System.CommandLine;
using System.Text.Json.Nodes;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount info DISK [--json]`: the chain, and per link its file, kind, CIDs, capacity, extents, grain size and allocated bytes.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var options = new DiskCommandOptions();
        var command = options.CreateCommand("info", "chain links, createType, CID/parentCID, capacity, extents, allocated bytes");
        command.SetAction(p => CliCommon.Run(() =>
        {
            using var d = options.OpenDisk(p);
            var doc = Describe(d);
            if (p.GetValue(options.Json)) Console.WriteLine(doc.ToJsonString(DiskJson.Options));
            else PrintText(doc);
            return ExitCodes.Ok;
        }));
        return command;
    }

    internal static JsonObject Describe(IVirtualDisk d)
    {
        var chain = new JsonArray();
        if (d is IDiskChain v)
        {
            foreach (var link in v.Links)
            {
                var extents = new JsonArray();
                foreach (var e in link.Extents)
                {
                    extents.Add((JsonNode)new JsonObject
                    {
                        ["access"] = e.Line is null ? "RW" : e.Line.Access switch { ExtentAccess.ReadOnly => "RDONLY", ExtentAccess.NoAccess => "NOACCESS", _ => "RW" },
                        ["sectors"] = e.Extent.Length / 512,
                        ["type"] = e.Line?.Type ?? e.Extent.Kind,
                        ["file"] = e.Extent.FileName,
                        ["offset"] = e.Line?.OffsetSectors ?? 0,
                        ["start"] = e.Start,
                    });
                }
                chain.Add((JsonNode)new JsonObject
                {
                    ["file"] = link.Path,
                    ["kind"] = link.Kind,
                    ["createType"] = link.CreateType,
                    ["cid"] = link.Cid is uint c ? c.ToString("x8") : null,
                    ["parentCid"] = link.ParentCid.ToString("x8"),
                    ["parentFileNameHint"] = link.Descriptor?.ParentFileNameHint,
                    ["foundBy"] = link.FoundBy,
                    ["capacity"] = link.Length,
                    ["grainSize"] = link.GrainBytes,
                    ["allocatedBytes"] = link.AllocatedBytes(),
                    ["extents"] = extents,
                });
            }
        }
        else
        {
            // An NBD export answers block status: what it holds is what its allocation map says.
            bool remote = ILayeredDisk.Innermost(d) is Core.Transports.Nbd.NbdDisk;
            long allocated = remote ? d.QueryAllocated(0, d.Length).Sum(r => r.Length) : d.Length;
            chain.Add((JsonNode)new JsonObject { ["file"] = d.Source, ["kind"] = remote ? "NBD export" : "raw image", ["capacity"] = d.Length, ["allocatedBytes"] = allocated });
        }
        return new JsonObject
        {
            ["disk"] = DiskJson.Disk(d, chain.Count),
            ["chain"] = chain,
            ["warnings"] = new JsonArray(d.Warnings.Select(w => (JsonNode?)JsonValue.Create(w)).ToArray()),
        };
    }

    private static void PrintText(JsonObject doc)
    {
        var disk = doc["disk"]!;
        Console.WriteLine($"disk:     {Shown(disk["source"])}");
        Console.WriteLine($"capacity: {disk["capacity"]} bytes ({DiskJson.Human((long)disk["capacity"]!)})");
        Console.WriteLine($"links:    {disk["links"]}");
        int i = 0;
        foreach (var link in doc["chain"]!.AsArray())
        {
            Console.WriteLine();
            Console.WriteLine($"[{i++}] {Shown(link!["file"])}");
            Console.WriteLine($"    kind: {link["kind"]}, createType: {Shown(link["createType"])}");
            Console.WriteLine($"    CID: {link["cid"]}, parentCID: {link["parentCid"]}" + (link["foundBy"] is { } f ? $", found by {Shown(f)}" : ""));
            Console.WriteLine($"    capacity: {link["capacity"]} bytes, grain size: {link["grainSize"]} bytes, allocated: {link["allocatedBytes"]} bytes");
            if (link["extents"] is JsonArray extents)
                foreach (var e in extents)
                    Console.WriteLine($"    extent: {Shown(e!["access"])} {e["sectors"]} {Shown(e["type"])} \"{Shown(e["file"])}\" {e["offset"]}");
        }
        foreach (var w in doc["warnings"]!.AsArray()) Console.Error.WriteLine($"warning: {w}");
    }

    /// <summary>Descriptor text (file names, createType) comes from the image: no control character reaches the terminal.</summary>
    private static string Shown(System.Text.Json.Nodes.JsonNode? n) => TerminalText.ForDiagnostic(n?.ToString() ?? "");
}
