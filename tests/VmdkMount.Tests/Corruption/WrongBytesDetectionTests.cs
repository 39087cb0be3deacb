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
