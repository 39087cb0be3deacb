using System.Text.Json;
using System.Text.Json.Nodes;
using VmdkMount.Core.Disks;

namespace VmdkMount.Cli.Commands;

/// <summary>The `disk` object every disk-level command prints, and small formatting helpers.</summary>
internal static class DiskJson
{
    /// <summary>
    /// The "warnings" array every document carries at its top level, last written by the streaming ones: what the
    /// disks said while opening, then what the filesystems said, each once.
    /// </summary>
    public static void WriteWarnings(System.Text.Json.Utf8JsonWriter w, IEnumerable<string> warnings)
    {
        w.WriteStartArray("warnings");
        foreach (var x in warnings.Distinct(StringComparer.Ordinal)) w.WriteStringValue(x);
        w.WriteEndArray();
    }

    /// <summary>Every disk's opening warnings.</summary>
    public static IEnumerable<string> Warnings(Core.Mounting.MountedDisk mounted) => mounted.Disks.SelectMany(d => d.Warnings);

    public static readonly JsonSerializerOptions Options = new() { WriteIndented = false };

    public static JsonObject Disk(IVirtualDisk d, int links) => new()
    {
        ["source"] = d.Source,
        ["capacity"] = d.Length,
        ["sectorSize"] = 512,
        ["links"] = links,
    };

    public static string Human(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return u == 0 ? $"{bytes} B" : $"{v:0.##} {units[u]}";
    }
}
