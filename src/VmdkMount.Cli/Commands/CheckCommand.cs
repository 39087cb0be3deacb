using System.CommandLine;
using System.Text.Json.Nodes;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;

namespace VmdkMount.Cli.Commands;

/// <summary>
/// `vmdkmount check DISK [--json]`: structural check of every link (tables in range, no overlapping grains, markers
/// and compressed grains decode, CIDs link up). Exit 0 clean, 1 problems found, 2 cannot open.
/// </summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var options = new DiskCommandOptions();
        var command = options.CreateCommand("check", "structural check of every link; exit 0 clean, 1 problems found, 2 cannot open");
        command.SetAction(p => CliCommon.Run(() =>
        {
            using var d = options.OpenDisk(p);
            var links = new JsonArray();
            int count = 0;
            var chainProblems = d.Warnings.Where(w => w.Contains("CID mismatch", StringComparison.Ordinal)).ToList();
            if (d is VmdkDisk v)
            {
                foreach (var link in v.Links)
                {
                    var problems = link.Check();
                    count += problems.Count;
                    links.Add(new JsonObject
                    {
                        ["file"] = link.Path,
                        ["problems"] = new JsonArray(problems.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
                    });
                }
            }
            count += chainProblems.Count;
            if (p.GetValue(options.Json))
            {
                var doc = new JsonObject
                {
                    ["disk"] = DiskJson.Disk(d, links.Count),
                    ["clean"] = count == 0,
                    ["problemCount"] = count,
                    ["chainProblems"] = new JsonArray(chainProblems.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
                    ["links"] = links,
                    ["warnings"] = new JsonArray(d.Warnings.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
                };
                Console.WriteLine(doc.ToJsonString(DiskJson.Options));
            }
            else
            {
                foreach (var l in links)
                {
                    var problems = l!["problems"]!.AsArray();
                    Console.WriteLine($"{TerminalText.ForDiagnostic(l["file"]?.ToString() ?? "")}: {(problems.Count == 0 ? "ok" : $"{problems.Count} problem(s)")}");
                    foreach (var x in problems) Console.WriteLine($"  {TerminalText.ForDiagnostic(x?.ToString() ?? "")}");
                }
                foreach (var x in chainProblems) Console.WriteLine($"chain: {TerminalText.ForDiagnostic(x)}");
                foreach (var w in d.Warnings) Console.Error.WriteLine($"warning: {w}");
                Console.WriteLine(count == 0 ? "clean" : $"{count} problem(s) found");
            }
            return count == 0 ? ExitCodes.Ok : ExitCodes.Problems;
        }));
        return command;
    }
}
