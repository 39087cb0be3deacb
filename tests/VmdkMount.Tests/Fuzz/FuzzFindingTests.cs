using System.Text;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems.Ntfs;
using VmdkMount.Fuzz.Harnesses;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Fuzz;

/// <summary>
/// Each finding of the coverage-guided runs (tests/fuzz/run.sh), as the smallest input that showed it: before the fix
/// an untyped exception escaped the parser (a crash of the command, an internal error of the mount); now it is a
/// typed error naming the file and the structure. The harness line replays the input as AFL ran it.
/// </summary>
public class FuzzFindingTests
{
    private static void Harness(string name, byte[] input) => FuzzHarnesses.Find(name)!.Run(input);

    [Fact]
    public void Descriptor_declaring_UTF7_is_an_unsupported_encoding_not_a_NotSupportedException()
    {
        // descriptor harness, 15 s in: .NET refuses to decode UTF-7 with NotSupportedException, not ArgumentException
        var text = Encoding.ASCII.GetBytes("# Disk DescriptorFile\nversion=1\nencoding=\"UTF-7\"\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"vmfs\"\nRW 128 VMFS \"d-flat.vmdk\"\n");
        var e = Assert.Throws<UnsupportedFeatureException>(() => DescriptorFile.Parse(text, "disk.vmdk: descriptor"));
        Assert.Contains("disk.vmdk: descriptor", e.Message);
        Assert.Contains("UTF-7", e.Message);
        Harness("descriptor", text);
    }

    [Fact]
    public void Index_block_shorter_than_its_headers_is_corrupt_not_an_ArgumentOutOfRangeException()
    {
        // ntfs-structs harness, 2 s in: a 0-byte INDX block (the AFL input was the one selector byte 0xb1)
        var e = Assert.Throws<CorruptDataException>(() => NtfsIndexAllocation.Parse([], 0, "vol $I30", 4096));
        Assert.Contains("INDX block", e.Message);
        foreach (int length in new[] { 1, 4, 39 })
            Assert.Throws<CorruptDataException>(() => NtfsIndexAllocation.Parse("INDX"u8.ToArray().Concat(new byte[length]).ToArray()[..length], 0, "vol $I30", 4096));
        Harness("ntfs-structs", [0xb1]);
    }

    private static byte[] Finding(string name) => File.ReadAllBytes(Path.Combine(RepoPaths.Root, "tests", "VmdkMount.Tests", "Fuzz", "Findings", name));

    [Fact]
    public void Grain_directory_of_a_huge_capacity_is_held_once_not_four_times()
    {
        // stream harness, 68 s in (8 inputs like it, all over the 256 MiB heap bound under afl-fuzz): a 2.5 KiB
        // SparseInput of a KDMV header claiming 512 TiB, so a 2^24-entry (64 MiB) grain directory, with a redundant
        // copy. Open read the directory through a staging buffer as large as itself, and `check` read the redundant
        // copy whole the same way: 256 MiB. Now the directory is read straight into its array and the copy is
        // compared 64 KiB at a time.
        var input = Finding("stream-directory-held-twice.bin");
        long before = GC.GetAllocatedBytesForCurrentThread();
        Harness("stream", input);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.InRange(allocated, 64L << 20, 100L << 20);
    }
}
