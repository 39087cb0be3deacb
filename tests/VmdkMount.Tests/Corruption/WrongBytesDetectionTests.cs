using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Corruption;

/// <summary>The corpus's oracle is not blind: a change to a file's data that a case claims not to touch is a finding.</summary>
public sealed class WrongBytesDetectionTests
{
    [Fact]
    public void A_changed_file_the_case_did_not_claim_is_reported_as_wrong_bytes()
    {
        string img = Path.Combine(TestImages.Get("ext-basic"), "ext4_4k.img");
        using var disk = new RawDisk(img);
        var intact = new SubRange(disk, 0, disk.Length);
        IFileSystem Open(IReadAt data, string name) => FormatRegistry.Default.Open("ext4", data, name);
        IntactTree tree;
        var ranges = new List<(long Offset, long Length)>();
        using (var fs = Open(intact, "ext4_4k.img"))
        {
            tree = IntactTree.Of(fs);
            var file = tree.Entries.First(e => e.Type == FsNodeType.File && e.Size > 0 && ((INodePlacement)fs).TryPlacement(e.Id, ranges) && ranges.Count > 1);
            Assert.NotNull(file);
        }
        var data = ranges[1];
        var flipped = Mutations.Read(intact, data.Offset, 1);
        flipped[0] ^= 0xFF;
        var lying = new CorruptionCase("ext4_4k", "file data", "flip, claimed untouched", [new Patch(data.Offset, flipped)], null, Touch.Nothing);
        var result = FileSystemCaseRunner.Run(lying, intact, tree, "ext4_4k.img", Open);
        Assert.NotNull(result.Finding);
        Assert.Contains("wrong bytes", result.Finding);
        var honest = lying with { Touch = Touch.All };
        Assert.Null(FileSystemCaseRunner.Run(honest, intact, tree, "ext4_4k.img", Open).Finding);
    }
}

/// <summary>The volume corpus's oracle is not blind either: a moved volume or changed file data it was not told of is a finding.</summary>
public sealed class VolumeCorpusDetectionTests
{
    [Fact]
    public void A_moved_partition_or_changed_lv_file_the_case_did_not_claim_is_a_finding()
    {
        string img = Path.Combine(TestImages.Get("volumes-lvm"), "lvm-mbr.img");
        using var disk = new RawDisk(img);
        var intactDisk = new SubRange(disk, 0, disk.Length);
        var intact = VolumeCaseRunner.Of(intactDisk, "lvm-mbr.img");
        var lv = intact.Layout.Volumes.Single(v => v.Id == "lvm-vgvola-root");
        var ranges = new List<(long Offset, long Length)>();
        using (var fs = FormatRegistry.Default.Open(lv.FileSystem, lv.Data, "root", new FileSystemOptions()))
        {
            var blob = intact.Trees[lv.Id].ByPath["/home/user/blob.bin"];
            Assert.True(((INodePlacement)fs).TryPlacement(blob.Id, ranges));
        }
        // the LV's first segment is linear from its first extent, so a byte of the file lies at the LV's offset plus
        // its own; the longest range is data (the first ones are the inode and its extent tree)
        var data = ranges.MaxBy(r => r.Length);
        Assert.True(data.Offset + data.Length < 40L << 20);
        long at = lv.Offset + data.Offset;
        var flipped = Mutations.Read(intactDisk, at, 1);
        flipped[0] ^= 0xFF;
        var lying = new CorruptionCase("lvm-mbr", "lv data", "flip, claimed untouched", [new Patch(at, flipped)], null, Touch.Nothing);
        var result = VolumeCaseRunner.Run(lying, intactDisk, intact, "lvm-mbr.img");
        Assert.Contains("wrong bytes at /home/user/blob.bin", result.Finding);
        Assert.Null(VolumeCaseRunner.Run(lying with { Touch = Touch.OfPaths([lv.Id]) }, intactDisk, intact, "lvm-mbr.img").Finding);

        var entry = Mutations.Read(intactDisk, 446, 16);
        entry[8]++;   // p1 one sector later
        var moved = new CorruptionCase("lvm-mbr", "mbr entry 1", "start + 1, claimed untouched", [new Patch(446, entry)], null, Touch.Nothing);
        Assert.Contains("volume p1 changed though the damage does not touch it", VolumeCaseRunner.Run(moved, intactDisk, intact, "lvm-mbr.img").Finding);
        Assert.Null(VolumeCaseRunner.Run(moved with { Touch = Touch.OfPaths(["p1"]) }, intactDisk, intact, "lvm-mbr.img").Finding);
    }
}
