using System.CommandLine;
using System.Text.Json;
using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Cli.Commands;

/// <summary>`vmdkmount volumes DISK [--json]`: every volume with its place, content, and whether (or why not) it mounts.</summary>
internal static class VolumesCommand
{
    public static Command Create()
    {
        var disk = CliCommon.DiskArgument();
        var json = CliCommon.JsonOption();
        var ignoreCid = CliCommon.IgnoreCidOption();
        var rawInput = CliCommon.RawInputOption();
        var command = new Command("volumes", "list partitions and logical volumes: offset, size, type, filesystem, label, mountable or why not")
        {
            disk, json, ignoreCid, rawInput,
        };
        command.SetAction(p => CliCommon.Run(() =>
        {
            using var d = DiskOpener.Open(p.GetValue(disk)!, CliCommon.DiskOptions(p, ignoreCid, rawInput));
            var layout = VolumeScanner.Scan(d, FormatRegistry.Default);
            if (p.GetValue(json)) WriteJson(d, layout);
            else WriteTable(d, layout);
            foreach (var w in layout.Warnings) Console.Error.WriteLine($"vmdkmount: warning: {w}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void WriteJson(IVirtualDisk disk, DiskLayout layout)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("disk");
            w.WriteString("source", disk.Source);
            w.WriteNumber("capacity", disk.Length);
            w.WriteNumber("sectorSize", layout.SectorSize);
            w.WriteString("scheme", layout.Scheme);
            w.WriteStartArray("warnings");
            foreach (var warning in layout.Warnings) w.WriteStringValue(warning);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartArray("volumes");
            foreach (var v in layout.Volumes)
            {
                w.WriteStartObject();
                w.WriteString("id", v.Id);
                w.WriteNumber("offset", v.Offset);
                w.WriteNumber("size", v.Size);
                w.WriteString("scheme", v.Scheme);
                w.WriteString("partitionType", v.PartitionType);
                w.WriteString("partitionName", v.PartitionName);
                w.WriteString("filesystem", v.FileSystem);
                w.WriteString("filesystemVersion", v.FileSystemVersion);
                w.WriteString("label", v.Label);
                w.WriteBoolean("mountable", v.Mountable);
                w.WriteString("reason", v.Reason);
                w.WriteString("partitionGuid", v.PartitionGuid);
                w.WriteStartArray("attributes");
                foreach (var a in v.Attributes) w.WriteStringValue(a);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stdout.Write("\n"u8);
    }

    private static void WriteTable(IVirtualDisk disk, DiskLayout layout)
    {
        Console.WriteLine($"{TerminalText.ForDiagnostic(disk.Source)}: {Size(disk.Length)} ({disk.Length} bytes), {layout.Scheme}, {layout.SectorSize}-byte sectors");
        var rows = new List<string[]> { new[] { "ID", "OFFSET", "SIZE", "TYPE", "FILESYSTEM", "LABEL", "MOUNT" } };
        foreach (var v in layout.Volumes)
        {
            string type = v.PartitionType is null ? "-" : v.PartitionName is null ? v.PartitionType : $"{v.PartitionType} {v.PartitionName}";
            string fs = v.FileSystemVersion is null ? v.FileSystem : $"{v.FileSystem} ({v.FileSystemVersion})";
            // labels and partition names come from the image: no control character reaches the terminal
            rows.Add([v.Id, v.Offset.ToString(), Size(v.Size), TerminalText.ForDiagnostic(type), fs, TerminalText.ForDiagnostic(v.Label ?? "-"),
                v.Mountable ? "yes" : "no: " + TerminalText.ForDiagnostic(v.Reason ?? "")]);
        }
        var widths = new int[rows[0].Length];
        foreach (var r in rows)
            for (int i = 0; i < r.Length - 1; i++) widths[i] = Math.Max(widths[i], r[i].Length);
        foreach (var r in rows)
            Console.WriteLine(string.Join("  ", r.Select((c, i) => i == r.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd());
        if (layout.Volumes.Count == 0) Console.WriteLine("(no volumes)");
    }

    private static string Size(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return u == 0 ? $"{bytes} B" : $"{v:0.#} {units[u]}";
    }
}
