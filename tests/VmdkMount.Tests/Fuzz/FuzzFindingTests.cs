using System.Text;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems.Ntfs;
using VmdkMount.Fuzz.Harnesses;

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
}
