using System.Text.Json;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Volumes;

/// <summary>Independent readers the volume tests compare against: sfdisk --json, parted -m, blkid -p.</summary>
internal static class VolumeOracles
{
    public static string Tables => TestImages.Get("volumes-tables");
    public static string Lvm => TestImages.Get("volumes-lvm");

    public sealed record SfdiskPartition(int Number, long Start, long Size, string Type, string? Name, string? Uuid);

    /// <summary>sfdisk's view of a table: partition number (from the node name), start and size in sectors, type.</summary>
    public static (int SectorSize, List<SfdiskPartition> Partitions) Sfdisk(string image)
    {
        var json = JsonDocument.Parse(Tool.Run("sfdisk", "--json", image).StdOut).RootElement.GetProperty("partitiontable");
        int sectorSize = json.TryGetProperty("sectorsize", out var ss) ? ss.GetInt32() : 512;
        var list = new List<SfdiskPartition>();
        foreach (var p in json.GetProperty("partitions").EnumerateArray())
        {
            string node = p.GetProperty("node").GetString()!;
            int number = int.Parse(new string(node.Reverse().TakeWhile(char.IsAsciiDigit).Reverse().ToArray()));
            list.Add(new SfdiskPartition(number, p.GetProperty("start").GetInt64(), p.GetProperty("size").GetInt64(),
                p.GetProperty("type").GetString()!, p.TryGetProperty("name", out var n) ? n.GetString() : null,
                p.TryGetProperty("uuid", out var u) ? u.GetString() : null));
        }
        return (sectorSize, list);
    }

    /// <summary>blkid's low-level probe of the bytes at [offset, offset+size) of an image; empty when it finds nothing.</summary>
    public static Dictionary<string, string> Blkid(string image, long offset, long size)
    {
        var r = Tool.Run("blkid", ["-p", "-O", offset.ToString(), "-S", size.ToString(), "-o", "export", image], allowFailure: true);
        if (r.ExitCode == 2) return [];
        if (r.ExitCode != 0) throw new InvalidOperationException($"blkid failed: {r.StdErr}");
        return r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('=', 2)).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]);
    }

    /// <summary>Our filesystem names for blkid's TYPE (and VERSION for FAT).</summary>
    public static string KindOf(Dictionary<string, string> blkid)
    {
        if (!blkid.TryGetValue("TYPE", out var type)) return "unknown";
        return type switch
        {
            "vfat" => blkid["VERSION"].ToLowerInvariant(),
            "crypto_LUKS" => "luks",
            "LVM2_member" => "lvm2-pv",
            "BitLocker" => "bitlocker",
            "linux_raid_member" => "md-raid",
            _ => type,
        };
    }

    public static string? LabelOf(Dictionary<string, string> blkid) => blkid.TryGetValue("LABEL", out var l) ? l : null;
}

/// <summary>An in-memory disk, for crafted and mutated inputs.</summary>
internal sealed class MemorySource(byte[] bytes) : IReadAt
{
    public byte[] Bytes { get; } = bytes;

    public long Length => Bytes.Length;

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset >= Bytes.Length) return 0;
        int n = (int)Math.Min(destination.Length, Bytes.Length - offset);
        Bytes.AsSpan((int)offset, n).CopyTo(destination);
        return n;
    }
}
