using System.Text.Json;
using System.Text.Json.Nodes;
using VmdkMount.Core.Disks;

namespace VmdkMount.Cli.Commands;

/// <summary>The `disk` object every disk-level command prints, and small formatting helpers.</summary>
internal static class DiskJson
{
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
