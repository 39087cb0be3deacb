using System.CommandLine;
using System.Text;
using System.Text.Json;
using VmdkMount.Core.Mounting.RestorePoints;

namespace VmdkMount.Cli.Commands;

/// <summary>
/// `vmdkmount changed DISK --since POINT [--until POINT] [--volume VOL] [--json] [-0]`: files and folders added,
/// deleted or modified between two restore points, sorted by volume then path.
/// </summary>
internal static class ChangedCommand
{
    public static Command Create()
    {
        var options = new PointOptions();
        var since = new Option<string>("--since") { Description = "the older restore point (" + Core.Disks.RestorePointName.Help + ")", HelpName = "POINT", Required = true };
        var until = new Option<string?>("--until") { Description = "the newer restore point (default: DISK itself)", HelpName = "POINT" };
        var volume = new Option<string?>("--volume") { Description = "only this volume", HelpName = "VOL" };
        var nul = new Option<bool>("-0") { Description = "print VOL:/path of every added or modified path (those that exist in the newer point), each ended by NUL, for xargs -0" };
        var full = new Option<bool>("--full") { Description = "compare by walking both trees whole, not from the changed ranges (slower; the same answer)" };
        var command = new Command("changed", "files and folders added, deleted or modified between two restore points");
        options.AddTo(command);
        command.Options.Add(since);
        command.Options.Add(until);
        command.Options.Add(volume);
        command.Options.Add(nul);
        command.Options.Add(full);
        var quiet = ProgressBars.QuietOption("no progress bar");
        command.Options.Add(quiet);
        command.SetAction(p => CliCommon.Run(() =>
        {
            using var points = options.Open(p);
            int older = points.Resolve(p.GetValue(since)!);
            int newer = p.GetValue(until) is { } u ? points.Resolve(u) : 0;
            if (newer > older)
                throw new ArgumentException($"--since {p.GetValue(since)} is newer than --until {p.GetValue(until)}: give the older point to --since");
            IReadOnlyList<VolumeChanges> volumes = [];
            if (!ProgressBars.Wanted(p.GetValue(quiet), p.GetValue(options.Json)))
                volumes = TreeComparison.Compare(points, newer, older, p.GetValue(volume), full: p.GetValue(full));
            else
                ProgressBars.ForSteps(ProgressBars.ErrorConsole()).Start(ctx =>
                {
                    // The number of entries is not known before the walk: the bar shows activity and the counts.
                    var task = ctx.AddTask("comparing");
                    task.IsIndeterminate = true;
                    volumes = TreeComparison.Compare(points, newer, older, p.GetValue(volume), new InlineProgress<ComparisonProgress>(x =>
                        task.Description = $"{x.VolumeId}: {x.Entries:N0} entries compared, {x.Changes:N0} changes"), p.GetValue(full));
                    task.IsIndeterminate = false;
                    task.Value = task.MaxValue;
                });
            using var stdout = Console.OpenStandardOutput();
            var warnings = points.Chain.Warnings.Concat(volumes.Where(v => v.Method is "added" or "deleted")
                    .Select(v => $"{v.VolumeId}: the volume exists only in the {(v.Method == "added" ? "newer" : "older")} point; listed whole"))
                .Concat(volumes.Where(v => v.Note is not null)
                    .Select(v => $"{v.VolumeId}: compared by walking both trees whole (slow), not from the changed ranges: {v.Note}")).ToList();
            if (p.GetValue(options.Json)) WriteJson(stdout, points, newer, older, volumes, warnings);
            else if (p.GetValue(nul)) WriteNul(stdout, volumes);
            else WriteText(stdout, volumes);
            foreach (var w in warnings) Console.Error.WriteLine($"vmdkmount: {w}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    internal static string Word(ChangeKind kind) => kind switch
    {
        ChangeKind.Added => "added",
        ChangeKind.Deleted => "deleted",
        _ => "modified",
    };

    private static void WriteJson(Stream stdout, RestorePointSet points, int newer, int older, IReadOnlyList<VolumeChanges> volumes,
        IEnumerable<string> warnings)
    {
        using var w = new Utf8JsonWriter(stdout);
        w.WriteStartObject();
        w.WriteString("from", points.Link(older).Path);
        w.WriteString("to", points.Link(newer).Path);
        w.WriteStartArray("volumes");
        foreach (var v in volumes)
        {
            w.WriteStartObject();
            w.WriteString("id", v.VolumeId);
            w.WriteString("method", v.Method);
            w.WriteStartArray("changes");
            foreach (var c in v.Changes)
            {
                w.WriteStartObject();
                w.WriteString("path", c.Path);
                w.WriteString("change", Word(c.Kind));
                w.WriteString("type", NodeFormat.TypeWord(c.Type));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        DiskJson.WriteWarnings(w, warnings);
        w.WriteEndObject();
    }

    private static void WriteText(Stream stdout, IReadOnlyList<VolumeChanges> volumes)
    {
        using var text = new StreamWriter(stdout, leaveOpen: true);
        bool terminal = !Console.IsOutputRedirected;
        foreach (var v in volumes)
            foreach (var c in v.Changes)
                text.WriteLine($"{Word(c.Kind)[0] switch { 'a' => 'A', 'd' => 'D', _ => 'M' }} {TerminalText.ForOutput($"{v.VolumeId}:{c.Path}", terminal)}");
    }

    private static void WriteNul(Stream stdout, IReadOnlyList<VolumeChanges> volumes)
    {
        using var text = new StreamWriter(stdout, new UTF8Encoding(false), leaveOpen: true);
        foreach (var v in volumes)
            foreach (var c in v.Changes)
                if (c.Kind != ChangeKind.Deleted) text.Write($"{v.VolumeId}:{c.Path}\0");
    }
}
