using VmdkMount.Core.Volumes;
using VmdkMount.Core.FileSystems;

namespace VmdkMount.Fuzz.Harnesses;

/// <summary>
/// One coverage-guided harness: a name (what `run.sh` and the CI smoke test select it by), the parsers it reaches,
/// what it does with one input, and how its seeds are made from the test images.
/// </summary>
/// <param name="Run">Feeds one input to the parser; returns normally or throws a typed error, anything else is a finding.</param>
/// <param name="Seeds">The seed inputs, given a way to find the folder of a test-image set (`images/NAME.sh`).</param>
public sealed record FuzzHarness(string Name, string Parsers, Action<byte[]> Run, Func<Func<string, string>, IEnumerable<FuzzSeed>> Seeds);

/// <summary>A seed input and where it came from (for the file name in the corpus folder).</summary>
public sealed record FuzzSeed(string Name, byte[] Bytes);

/// <summary>Every harness, by name.</summary>
public static class FuzzHarnesses
{
    public static IReadOnlyList<FuzzHarness> All { get; } =
    [
        new("descriptor", "VMDK text descriptor (embedded too): header, extent lines, disk database; the extents it names",
            input => VmdkWalk.Run(new MemoryReadAt(input), recoverTruncatedStream: false), FuzzSeeds.Descriptors),
        new("sparse", "hosted sparse (KDMV) header, embedded descriptor, grain directory and tables, grains",
            input => VmdkWalk.Run(new SparseInput(input), recoverTruncatedStream: false), images => FuzzSeeds.VmdkFiles(images, stream: false)),
        new("stream", "streamOptimized: header and footer, markers, zlib grains, GD at end, truncated-stream recovery",
            input => VmdkWalk.Run(new SparseInput(input), recoverTruncatedStream: true), images => FuzzSeeds.VmdkFiles(images, stream: true)),
        new("cowd", "ESX vmfsSparse (COWD) header, grain directory and tables",
            input => VmdkWalk.Run(new SparseInput(input), recoverTruncatedStream: false), _ => FuzzSeeds.Cowd()),
        new("sesparse", "ESXi seSparse header, volatile header, journal state, grain directory and tables",
            input => VmdkWalk.Run(new SparseInput(input), recoverTruncatedStream: false), _ => FuzzSeeds.SeSparse()),
        new("partitions", "MBR, EBR chain, GPT (both copies, CRCs), hybrid MBR, LDM detection, filesystem probes",
            input => PartitionWalk.Run(new SparseInput(input)), images => FuzzSeeds.Disks(images, "volumes-tables")),
        new("lvm", "LVM2 label, metadata area, metadata text, logical volumes (linear, striped)",
            input => PartitionWalk.Run(new SparseInput(input)), images => FuzzSeeds.Disks(images, "volumes-lvm")),
        new("ntfs", "NTFS volume: boot sector, $MFT, records, attribute lists, indexes, runlists, compressed and sparse data, reparse points, streams",
            input => FileSystemWalk.Run(new SparseInput(input), [FileSystemKinds.Ntfs]), images => FuzzSeeds.Volumes(images, "ntfs-basic", [FileSystemKinds.Ntfs], "basic.img", "c512.img", "dirty.img")),
        new("ntfs-structs", "NTFS decoders alone: MFT record + attributes, runlist, index block, LZNT1, reparse data",
            NtfsStructures.Run, FuzzSeeds.NtfsStructures),
        new("ext", "ext2/3/4: superblock, group descriptors, inodes, extent trees, block maps, directories (htree, inline), symlinks",
            input => FileSystemWalk.Run(new SparseInput(input), [FileSystemKinds.Ext4, FileSystemKinds.Ext3, FileSystemKinds.Ext2]), FuzzSeeds.Ext),
        new("fat", "FAT12/16/32: boot sector, FAT chains, directory entries, long names",
            input => FileSystemWalk.Run(new SparseInput(input), [FileSystemKinds.Fat32, FileSystemKinds.Fat16, FileSystemKinds.Fat12]),
            images => FuzzSeeds.Volumes(images, "fat-basic", [FileSystemKinds.Fat32, FileSystemKinds.Fat16, FileSystemKinds.Fat12], "fat12.img", "fat16.img", "fat16-4k.img", "fat32.img")),
        new("exfat", "exFAT: boot region, allocation bitmap, up-case table, directory entry sets, cluster chains",
            input => FileSystemWalk.Run(new SparseInput(input), [FileSystemKinds.ExFat]), images => FuzzSeeds.Volumes(images, "fat-exfat", [FileSystemKinds.ExFat], "exfat.img", "exfat-4k.img")),
        new("xfs", "XFS v4/v5: superblock, AG headers, inodes, data forks (extents, BMBT), directories (all forms), attributes, symlinks, log",
            input => FileSystemWalk.Run(new SparseInput(input), [FileSystemKinds.Xfs]), FuzzSeeds.Xfs),
        new("nbd", "NBD client: newstyle handshake, option replies, simple and structured replies, block status",
            NbdScript.Run, _ => FuzzSeeds.Nbd()),
    ];

    public static FuzzHarness? Find(string name) => All.FirstOrDefault(h => h.Name == name);
}
