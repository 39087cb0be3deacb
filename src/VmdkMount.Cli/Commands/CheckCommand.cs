using System.CommandLine;
using System.Text.Json.Nodes;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Cli.Commands;

/// <summary>
/// `vmdkmount check DISK [--json] [--max-entries N]`: structural check of every link (tables in range, no overlapping
/// grains, markers and compressed grains decode, CIDs link up), then of what the disk holds: the partition tables
/// (GPT CRCs, both copies, overlaps, entries past the disk's end), and each volume's filesystem (it opens; the reader's
/// own metadata check where it has one; a walk of the tree bounded in entries, reporting directories, links and files
/// that cannot be shown). A volume skipped by policy (ReFS, BitLocker, swap, no filesystem) is listed, not a problem;
/// one whose entry or filesystem is damaged is. Exit 0 clean, 1 problems found, 2 cannot open.
/// </summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var options = new DiskCommandOptions();
        var command = options.CreateCommand("check", "structural check of every link, the partition tables and each volume's filesystem; exit 0 clean, 1 problems found, 2 cannot open");
        var maxEntries = new Option<long>("--max-entries")
        {
            Description = $"stop each volume's tree walk after this many entries (default {FileSystemTreeCheck.DefaultMaxEntries}; the output says when it stopped)",
            DefaultValueFactory = _ => FileSystemTreeCheck.DefaultMaxEntries,
        };
        command.Options.Add(maxEntries);
        var quiet = ProgressBars.QuietOption("no progress bar");
        command.Options.Add(quiet);
        command.SetAction(p => CliCommon.Run(() =>
        {
            long limit = p.GetValue(maxEntries);
            if (limit < 1) throw new ArgumentException("--max-entries must be at least 1");
            using var d = options.OpenDisk(p);
            if (!ProgressBars.Wanted(p.GetValue(quiet), p.GetValue(options.Json))) return Check(d, limit, p.GetValue(options.Json), null);
            int rc = 0;
            ProgressBars.ForSteps(ProgressBars.ErrorConsole()).Start(ctx => rc = Check(d, limit, p.GetValue(options.Json), ctx));
            return rc;
        }));
        return command;
    }

    /// <summary>The whole check; <paramref name="bar"/> (a terminal's progress display) is told each link and volume.</summary>
    private static int Check(IVirtualDisk d, long limit, bool asJson, Spectre.Console.ProgressContext? bar)
    {
            var links = new JsonArray();
            int count = 0;
            var chainProblems = d.Warnings.Where(w => w.Contains("CID mismatch", StringComparison.Ordinal)).ToList();
            if (d is IDiskChain v)
            {
                var linkTask = bar?.AddTask("links", maxValue: Math.Max(1, v.Links.Count));
                foreach (var link in v.Links)
                {
                    if (linkTask is not null) linkTask.Description = $"link {Spectre.Console.Markup.Escape(TerminalText.ForDiagnostic(Path.GetFileName(link.Path)))}"; // a task description is Spectre markup: a name with [ ] must not be read as markup
                    var problems = link.Check();
                    linkTask?.Increment(1);
                    count += problems.Count;
                    links.Add((JsonNode)new JsonObject
                    {
                        ["file"] = link.Path,
                        ["problems"] = Strings(problems),
                    });
                }
            }
            count += chainProblems.Count;
            var contents = CheckContents(d, limit, bar);
            count += contents.ProblemCount;
            if (asJson)
            {
                var doc = new JsonObject
                {
                    ["disk"] = DiskJson.Disk(d, links.Count),
                    ["clean"] = count == 0,
                    ["problemCount"] = count,
                    ["chainProblems"] = Strings(chainProblems),
                    ["links"] = links,
                    ["scheme"] = contents.Scheme,
                    ["partitionProblems"] = Strings(contents.PartitionProblems),
                    ["volumes"] = contents.Volumes,
                    ["warnings"] = Strings(d.Warnings),
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
                foreach (var x in contents.PartitionProblems) Console.WriteLine($"partition table: {TerminalText.ForDiagnostic(x)}");
                foreach (var vol in contents.Volumes) WriteVolume(vol!.AsObject());
                foreach (var w in d.Warnings) Console.Error.WriteLine($"warning: {TerminalText.ForDiagnostic(w)}");
                Console.WriteLine(count == 0 ? "clean" : $"{count} problem(s) found");
            }
            return count == 0 ? ExitCodes.Ok : ExitCodes.Problems;
    }

    private sealed record ContentReport(string? Scheme, List<string> PartitionProblems, JsonArray Volumes, int ProblemCount);

    /// <summary>The partition tables and every volume; damage to any of it is a problem, never an exit 2.</summary>
    private static ContentReport CheckContents(IVirtualDisk d, long maxEntries, Spectre.Console.ProgressContext? bar)
    {
        var volumes = new JsonArray();
        DiskLayout layout;
        try
        {
            layout = VolumeScanner.Scan(d, FormatRegistry.Default);
        }
        catch (Exception e) when (e is VmdkMountException or IOException)
        {
            return new ContentReport(null, [$"the partition tables cannot be read: {e.Message}"], volumes, 1);
        }
        var partitionProblems = layout.Problems.ToList();
        int count = partitionProblems.Count;
        foreach (var vol in layout.Volumes)
        {
            var task = bar?.AddTask($"volume {vol.Id}", maxValue: maxEntries);
            var (json, problems) = CheckVolume(d, vol, maxEntries, task);
            if (task is not null) task.Value = task.MaxValue;
            count += problems;
            volumes.Add((JsonNode)json);
        }
        return new ContentReport(layout.Scheme, partitionProblems, volumes, count);
    }

    /// <summary>One volume: status ok | problems | skipped | unsupported, its problems, and how far the tree walk went.</summary>
    private static (JsonObject Json, int Problems) CheckVolume(IVirtualDisk d, Volume vol, long maxEntries, Spectre.Console.ProgressTask? task)
    {
        var json = new JsonObject { ["id"] = vol.Id, ["filesystem"] = vol.FileSystem };
        var problems = new List<string>();
        var warnings = new List<string>();
        string status;
        int notListed = 0;
        if (!vol.Mountable)
        {
            if (vol.Damaged) problems.Add($"volume cannot be used: {vol.Reason}");
            status = vol.Damaged ? "problems" : "skipped";
            json["reason"] = vol.Reason;
        }
        else
        {
            status = CheckFileSystem(d, vol, maxEntries, json, problems, warnings, out notListed, task);
        }
        json["status"] = status;
        json["problems"] = Strings(problems);
        json["warnings"] = Strings(warnings);
        json["problemCount"] = problems.Count + Math.Max(0, notListed - 1);
        return (json, problems.Count + Math.Max(0, notListed - 1));
    }

    private static string CheckFileSystem(IVirtualDisk d, Volume vol, long maxEntries, JsonObject json, List<string> problems, List<string> warnings,
        out int notListed, Spectre.Console.ProgressTask? task)
    {
        notListed = 0;
        IFileSystem fs;
        try
        {
            fs = FormatRegistry.Default.Open(vol.FileSystem, vol.Data, $"{d.Source}:{vol.Id}");
        }
        catch (UnsupportedFeatureException e)
        {
            json["reason"] = e.Message;
            return "unsupported";
        }
        catch (Exception e) when (e is VmdkMountException or IOException)
        {
            problems.Add($"filesystem cannot be opened (damaged): {e.Message}");
            return "problems";
        }
        using (fs)
        {
            try
            {
                if (fs is IFileSystemCheck own)
                    problems.AddRange(own.Check(CancellationToken.None).Select(x => x.ToString()));
                // Entries a damaged volume cannot show (a stray `..`, a duplicate name) are problems of their directory.
                Func<long, string, IEnumerable<FsProblem>>? unshown = fs is IReportsUnshownEntries reports
                    ? (id, path) => reports.UnshownEntries(id).Select(u =>
                        new FsProblem($"directory {path}", $"entry '{u.Name}'{(u.Id >= 0 ? $" (node {u.Id})" : "")} cannot be shown: {u.Reason}"))
                    : null;
                // The bar's length is the walk's bound: a volume smaller than that fills it when the walk ends.
                var walked = task is null ? null : new InlineProgress<long>(n =>
                {
                    task.Value = n;
                    task.Description = $"volume {vol.Id}: {n:N0} entries";
                });
                var walk = FileSystemTreeCheck.Walk(fs, maxEntries, CancellationToken.None, unshown, walked);
                problems.AddRange(walk.Problems.Select(x => x.ToString()));
                notListed = walk.ProblemsNotListed;
                if (notListed > 0) problems.Add($"{notListed} more problem(s) not listed");
                json["directoriesChecked"] = walk.Directories;
                json["entriesChecked"] = walk.Entries;
                json["walkComplete"] = walk.Complete;
                if (!walk.Complete) warnings.Add($"tree walk stopped after {walk.Entries} entries (--max-entries); the rest is not checked");
            }
            catch (Exception e) when (e is VmdkMountException or IOException)
            {
                problems.Add($"check stopped: {e.Message}");
            }
            warnings.AddRange(fs.Warnings);
        }
        return problems.Count == 0 ? "ok" : "problems";
    }

    private static void WriteVolume(JsonObject v)
    {
        string head = $"volume {v["id"]} ({v["filesystem"]})";
        var problems = v["problems"]!.AsArray();
        switch ((string?)v["status"])
        {
            case "skipped":
            case "unsupported":
                Console.WriteLine($"{head}: {v["status"]}: {TerminalText.ForDiagnostic(v["reason"]?.ToString() ?? "")}");
                break;
            default:
                string walked = v["entriesChecked"] is { } n ? $" ({n} entries in {v["directoriesChecked"]} directories checked{(v["walkComplete"]?.GetValue<bool>() == false ? ", walk stopped early" : "")})" : "";
                Console.WriteLine($"{head}: {(problems.Count == 0 ? "ok" : $"{problems.Count} problem(s)")}{walked}");
                break;
        }
        foreach (var x in problems) Console.WriteLine($"  {TerminalText.ForDiagnostic(x?.ToString() ?? "")}");
        foreach (var w in v["warnings"]!.AsArray()) Console.Error.WriteLine($"warning: {v["id"]}: {TerminalText.ForDiagnostic(w?.ToString() ?? "")}");
    }

    private static JsonArray Strings(IEnumerable<string> items) => new(items.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());
}
