using System.Buffers.Binary;
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

    [Fact]
    public void Sparse_input_read_past_the_input_inside_a_short_last_sector_reads_zeros()
    {
        // both `stream` "crashes" of a 2-hour AFL run: the harness's own SparseInput threw ArgumentOutOfRangeException
        // when a read began past the input's last byte but inside the sector that byte belongs to (a chunk cut short
        // by the end of the input). The format says that tail reads as zeros, as a file's bytes inside its length do.
        var input = new byte[4 + 5 + 100];
        BinaryPrimitives.WriteUInt32LittleEndian(input, 2);                       // 2 sectors
        BinaryPrimitives.WriteUInt32LittleEndian(input.AsSpan(4), 1);             // one chunk at sector 1, 1 sector
        input.AsSpan(9).Fill(0xA5);                                               // of which only 100 bytes are given
        var sparse = new SparseInput(input);
        var read = new byte[64];
        read.AsSpan().Fill(0xFF);
        Assert.Equal(64, sparse.ReadAt(512 + 200, read));
        Assert.All(read, b => Assert.Equal(0, b));
        Assert.Equal(12, sparse.ReadAt(1024 - 12, read));                         // short only at the length
        Assert.Equal(0, sparse.ReadAt(1024, read));
    }

    [Fact]
    public void Sparse_input_reads_as_the_image_it_describes_at_every_offset()
    {
        // the model: a zero image of the declared length, each chunk's sectors written in order, a chunk cut short by
        // the input's end zero-filled; every (offset, length) read of the SparseInput must equal the model's bytes
        var rnd = new Random(17);
        for (int round = 0; round < 40; round++)
        {
            int sectors = 1 + rnd.Next(6);
            var input = new List<byte>(BitConverter.GetBytes((uint)sectors));
            for (int chunk = rnd.Next(4); chunk >= 0; chunk--)
            {
                input.AddRange(BitConverter.GetBytes((uint)rnd.Next(sectors + 1)));
                input.Add((byte)rnd.Next(3));
                for (int i = 1 + rnd.Next(2 * 512); i > 0; i--) input.Add((byte)(1 + rnd.Next(255)));
            }
            var bytes = input.ToArray()[..(4 + rnd.Next(input.Count - 3))];
            var model = Model(bytes, sectors);
            var sparse = new SparseInput(bytes);
            Assert.Equal(model.Length, sparse.Length);
            var read = new byte[3 * 512];
            for (int offset = 0; offset <= model.Length + 1; offset += 1 + rnd.Next(97))
            {
                int length = rnd.Next(read.Length);
                int n = sparse.ReadAt(offset, read.AsSpan(0, length));
                int expected = (int)Math.Clamp(model.Length - offset, 0, length);
                Assert.Equal(expected, n);
                Assert.True(model.AsSpan(Math.Min(offset, model.Length), n).SequenceEqual(read.AsSpan(0, n)), $"round {round} read {length} at {offset}");
            }
        }
    }

    private static byte[] Model(byte[] input, int sectors)
    {
        var image = new byte[sectors * 512];
        int at = 4;
        while (at + 5 <= input.Length)
        {
            long first = BinaryPrimitives.ReadUInt32LittleEndian(input.AsSpan(at));
            int count = input[at + 4] + 1;
            at += 5;
            for (int i = 0; i < count && at < input.Length; i++, at += 512)
            {
                if (first + i >= sectors) continue;
                var sector = image.AsSpan((int)(first + i) * 512, 512);
                sector.Clear();
                input.AsSpan(at, Math.Min(512, input.Length - at)).CopyTo(sector);
            }
        }
        return image;
    }
}
