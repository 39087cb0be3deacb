using VmdkMount.Core.Disks;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// The corruption corpus of the partition tables and LVM2 metadata: disks made by sfdisk (MBR, seven logicals in an
/// EBR chain; an MBR of 4096-byte sectors), parted (MBR with logicals), sgdisk (GPT, eleven entries, primary and
/// backup; a hybrid MBR; a 4Kn GPT) and LVM (pvcreate/vgcfgrestore: a PV on a partition with a two-segment LV, two
/// PVs with a striped LV, a PV with two metadata copies, a whole-disk PV), their structures found by
/// walking them, corrupted in memory. Every case scans, lists and reads to success or typed errors within the time
/// and memory bounds; every volume the damage does not touch shows as before and its files hash as in the intact disk.
/// </summary>
[Collection("Corruption corpus")]
public sealed class VolumeCorpusTests
{
    public static TheoryData<string, string> Disks => new()
    {
        { "volumes-tables", "mbr.img" },
        { "volumes-tables", "gpt.img" },
        { "volumes-tables", "hybrid.img" },
        { "volumes-tables", "gpt4k.img" },
        { "volumes-tables", "mbr4k.img" },
        { "volumes-tables", "parted.img" },
        { "volumes-lvm", "lvm-mbr.img" },
        { "volumes-lvm", "lvm-striped.img" },
        { "volumes-lvm", "lvm-2mda.img" },
        { "volumes-lvm", "lvm-disk.img" },
    };

    [Theory]
    [MemberData(nameof(Disks))]
    public void Volume_corpus(string set, string name)
    {
        string image = Path.Combine(TestImages.Get(set), name);
        string label = $"volumes {set}/{name}";
        var before = SourceHashes.Of([image]);
        IReadOnlyList<CaseResult> results;
        using (var disk = new RawDisk(image))
        {
            var intactDisk = new SubRange(disk, 0, disk.Length);
            var intact = VolumeCaseRunner.Of(intactDisk, name);
            var lvs = intact.Layout.Volumes.Where(v => v.Scheme == "lvm").Select(v => v.Id).ToList();
            var structures = new VolumeStructures(intactDisk, intact.Layout.SectorSize, lvs, at => intact.Layout.Volumes.FirstOrDefault(v => v.Scheme != "lvm" && v.Offset == at)?.Id);
            Assert.NotEmpty(structures.Regions);
            var cases = VolumeCases.Generate(label, intactDisk, structures, intact.Layout.Volumes).ToList();
            results = cases.Select(c => VolumeCaseRunner.Run(c, intactDisk, intact, name)).ToList();
        }
        Assert.Equal(before, SourceHashes.Of([image]));
        FileSystemCorpus.AssertNoFindings(label, results);
    }
}
