using System.Text.Json;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Volumes;

/// <summary>`vmdkmount volumes` as a user runs it: the JSON contract of architecture.md, the table, exit codes.</summary>
public class VolumesCommandTests
{
    private static readonly string[] VolumeKeys =
        ["id", "offset", "size", "scheme", "partitionType", "partitionName", "filesystem", "label", "mountable", "reason"];

    [Fact]
    public void Json_has_the_documented_shape_and_agrees_with_sfdisk_and_blkid()
    {
        string image = Path.Combine(VolumeOracles.Tables, "gpt.img");
        var r = OurCli.Run("volumes", image, "--raw-input", "--json");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var root = JsonDocument.Parse(r.StdOut).RootElement;
        var disk = root.GetProperty("disk");
        Assert.Equal(image, disk.GetProperty("source").GetString());
        Assert.Equal(new FileInfo(image).Length, disk.GetProperty("capacity").GetInt64());
        Assert.Equal(512, disk.GetProperty("sectorSize").GetInt32());
        Assert.Equal("gpt", disk.GetProperty("scheme").GetString());
        var volumes = root.GetProperty("volumes").EnumerateArray().ToList();
        var (ss, parts) = VolumeOracles.Sfdisk(image);
        Assert.Equal(parts.Count, volumes.Count);
        foreach (var (v, p) in volumes.Zip(parts))
        {
            foreach (var key in VolumeKeys) Assert.True(v.TryGetProperty(key, out _), $"missing {key}");
            Assert.Equal($"p{p.Number}", v.GetProperty("id").GetString());
            Assert.Equal(p.Start * ss, v.GetProperty("offset").GetInt64());
            Assert.Equal(p.Size * ss, v.GetProperty("size").GetInt64());
            Assert.Equal(p.Type.ToLowerInvariant(), v.GetProperty("partitionType").GetString());
            Assert.Equal(p.Uuid!.ToLowerInvariant(), v.GetProperty("partitionGuid").GetString());
            var blkid = VolumeOracles.Blkid(image, p.Start * ss, p.Size * ss);
            Assert.Equal(VolumeOracles.KindOf(blkid), v.GetProperty("filesystem").GetString());
            bool mountable = v.GetProperty("mountable").GetBoolean();
            Assert.Equal(mountable ? JsonValueKind.Null : JsonValueKind.String, v.GetProperty("reason").ValueKind);
        }
        var p3 = volumes.Single(v => v.GetProperty("id").GetString() == "p3");
        Assert.Equal(("ntfs", "WinSys", true, "Basic data partition"), (p3.GetProperty("filesystem").GetString(),
            p3.GetProperty("label").GetString(), p3.GetProperty("mountable").GetBoolean(), p3.GetProperty("partitionName").GetString()));
    }

    [Fact]
    public void Table_lists_every_volume_with_its_reason()
    {
        var r = OurCli.Run("volumes", Path.Combine(VolumeOracles.Lvm, "lvm-mbr.img"), "--raw-input");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("ID", lines[1]);
        Assert.Equal(["p1", "p2", "lvm-vgvola-root", "lvm-vgvola-swap"], lines.Skip(2).Select(l => l.Split(' ')[0]));
        Assert.Contains("no: Linux swap space (no files)", lines[5]);
        Assert.EndsWith("yes", lines[4]);
    }

    [Fact]
    public void Warnings_go_to_stderr_and_into_the_json()
    {
        string image = Path.Combine(VolumeOracles.Tables, "hybrid.img");
        var r = OurCli.Run("volumes", image, "--raw-input", "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("warning: hybrid MBR", r.StdErr);
        var warnings = JsonDocument.Parse(r.StdOut).RootElement.GetProperty("disk").GetProperty("warnings");
        Assert.StartsWith("hybrid MBR", warnings[0].GetString());
    }

    [Fact]
    public void Missing_disk_is_exit_code_2()
    {
        var r = OurCli.Run("volumes", "/nonexistent/disk.img", "--raw-input");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("/nonexistent/disk.img", r.StdErr);
    }
}
