using System.Text.Json;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.MultiDisk;

/// <summary>
/// A PV made with `pvcreate --metadatacopies 0` holds no VG text: it is found by its label's UUID from the metadata
/// on the VG's other PV, on another disk, and alone it is a PV without metadata, not damage.
/// </summary>
public class MultiDiskNoMetadataTests
{
    private static JsonElement VolumesJson(params string[] disks)
    {
        var r = OurCli.Run(["volumes", .. disks, "--json"]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        return JsonDocument.Parse(r.StdOut).RootElement;
    }

    private static JsonElement Volume(JsonElement root, string id) =>
        root.GetProperty("volumes").EnumerateArray().Single(v => v.GetProperty("id").GetString() == id);

    [Fact]
    public void Pv_without_metadata_is_found_by_uuid_and_the_lv_spanning_it_reads_like_the_kernel()
    {
        // the disk without metadata first: the VG is only described on disk 2
        var root = VolumesJson(RhelTwoDisks.NoMda(2), RhelTwoDisks.NoMda(1));
        Assert.Equal(["d1disk", "d2disk", RhelTwoDisks.SpillLv],
            root.GetProperty("volumes").EnumerateArray().Select(v => v.GetProperty("id").GetString()));
        var spill = Volume(root, RhelTwoDisks.SpillLv);
        Assert.True(spill.GetProperty("mountable").GetBoolean(), spill.GetProperty("reason").GetString());
        Assert.Equal([2, 1], spill.GetProperty("disks").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Contains("of volume group", Volume(root, "d1disk").GetProperty("reason").GetString());
        Assert.Empty(root.GetProperty("warnings").EnumerateArray());

        var r = OurCli.Run("cat", RhelTwoDisks.NoMda(2), RhelTwoDisks.SpillLv + ":/across.bin", "--disk", RhelTwoDisks.NoMda(1));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(RhelTwoDisks.Sums("spill")["/across.bin"], Hashing.Sha256(r.StdOutBytes));
    }

    [Fact]
    public void Each_disk_alone_says_what_is_missing()
    {
        var alone = VolumesJson(RhelTwoDisks.NoMda(2));
        var disk = Assert.Single(alone.GetProperty("volumes").EnumerateArray());
        Assert.Equal("lvm2-pv", disk.GetProperty("filesystem").GetString());
        Assert.Contains("without metadata of its own", disk.GetProperty("reason").GetString());

        var first = VolumesJson(RhelTwoDisks.NoMda(1));
        var spill = Volume(first, RhelTwoDisks.SpillLv);
        Assert.False(spill.GetProperty("mountable").GetBoolean());
        Assert.Contains($"({RhelTwoDisks.NoMdaPvUuid(2)}), which is on none of the disks given", spill.GetProperty("reason").GetString());
    }
}
