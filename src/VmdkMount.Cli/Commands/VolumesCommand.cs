using System.CommandLine;
using System.Text.Json;
using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Cli.Commands;

/// <summary>
/// `vmdkmount volumes DISK [DISK...] [--disk DISK] [--json]`: every volume with its place, content, and whether (or
/// why not) it mounts. Several disks are those of one VM: ids get the disk's position (d1p2), LVM spans them.
/// </summary>
internal static class VolumesCommand
{
    public static Command Create()
    {
        var disks = new Argument<string[]>("DISK")
        {
            Description = CliCommon.DiskArgument().Description + "; several: all disks of one VM (ids d1p2, d2p1, ...; LVM volume groups span them)",
            Arity = ArgumentArity.OneOrMore,
        };
        var moreDisks = CliCommon.DiskOption();
        var json = CliCommon.JsonOption();
        var ignoreCid = CliCommon.IgnoreCidOption();
        var rawInput = CliCommon.RawInputOption();
        var command = new Command("volumes", "list partitions and logical volumes: offset, size, type, filesystem, label, mountable or why not")
        {
            disks, moreDisks, json, ignoreCid, rawInput,
        };
        command.SetAction(p => CliCommon.Run(() =>
            List(CliCommon.Disks(p.GetValue(disks)!, p.GetValue(moreDisks)), CliCommon.DiskOptions(p, ignoreCid, rawInput), p.GetValue(json))));
        return command;
    }

    /// <summary>The listing of `volumes` (also what `ls DISK` without a path shows).</summary>
    public static int List(IReadOnlyList<string> sources, DiskOpenOptions options, bool asJson)
    {
            var opened = new List<IVirtualDisk>();
            try
            {
                foreach (var source in sources) opened.Add(DiskOpener.Open(source, options));
                var vm = VolumeScanner.ScanAll(opened, FormatRegistry.Default);
                var layout = vm.Merge();
                if (asJson) WriteJson(opened, vm, layout);
                else WriteTable(opened, vm, layout);
                foreach (var w in layout.Warnings) Console.Error.WriteLine($"vmdkmount: warning: {w}");
                return ExitCodes.Ok;
            }
            finally
            {
                foreach (var d in opened) d.Dispose();
            }
    }

    /// <summary>`disk` stays the first disk (as with one); `disks` lists every disk given, `disks` of a volume where it lies.</summary>
    private static void WriteJson(IReadOnlyList<IVirtualDisk> disks, VmLayout vm, DiskLayout layout)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WritePropertyName("disk");
            WriteDisk(w, disks[0], disks.Count == 1 ? layout : vm.Disks[0], null);
            w.WriteStartArray("disks");
            for (int i = 0; i < disks.Count; i++) WriteDisk(w, disks[i], disks.Count == 1 ? layout : vm.Disks[i], i + 1);
            w.WriteEndArray();
            w.WriteStartArray("warnings");
            foreach (var warning in layout.Warnings) w.WriteStringValue(warning);
            w.WriteEndArray();
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
                w.WriteStartArray("disks");
                foreach (var d in v.Disks) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stdout.Write("\n"u8);
    }

    private static void WriteDisk(Utf8JsonWriter w, IVirtualDisk disk, DiskLayout layout, int? number)
    {
        w.WriteStartObject();
        if (number is { } n) w.WriteNumber("number", n);
        w.WriteString("source", disk.Source);
        w.WriteNumber("capacity", disk.Length);
        w.WriteNumber("sectorSize", layout.SectorSize);
        w.WriteString("scheme", layout.Scheme);
        w.WriteStartArray("warnings");
        foreach (var warning in layout.Warnings) w.WriteStringValue(warning);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteTable(IReadOnlyList<IVirtualDisk> disks, VmLayout vm, DiskLayout layout)
    {
        for (int i = 0; i < disks.Count; i++)
        {
            var (disk, own) = (disks[i], vm.Disks[i]);
            string number = disks.Count == 1 ? "" : $"d{i + 1} ";
            Console.WriteLine($"{number}{TerminalText.ForDiagnostic(disk.Source)}: {Size(disk.Length)} ({disk.Length} bytes), {own.Scheme}, {own.SectorSize}-byte sectors");
        }
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
