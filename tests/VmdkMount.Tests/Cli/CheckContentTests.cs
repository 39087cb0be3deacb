using System.Text.Json;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Cli;

/// <summary>
/// `check` looks past the VMDK links: partition tables (both GPT copies), each volume's filesystem (opens, the
/// reader's own metadata check, a bounded walk of its tree). Damage is exit 1 naming the volume and the structure;
/// volumes skipped by policy (swap, LUKS, Btrfs, no filesystem) are not problems.
/// </summary>
public class CheckContentTests
{
    private static string Damaged => TestImages.Get("check-damaged");

    private static (int ExitCode, JsonElement Doc) Check(params string[] args)
    {
        var r = OurCli.Run(["check", "--json", .. args], timeout: TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode is 0 or 1, $"exit {r.ExitCode}: {r.StdErr}");
        return (r.ExitCode, JsonDocument.Parse(r.StdOut).RootElement.Clone());
    }

    private static JsonElement Volume(JsonElement doc, string id) =>
        doc.GetProperty("volumes").EnumerateArray().Single(v => v.GetProperty("id").GetString() == id);

    private static List<string> Problems(JsonElement volume) =>
        volume.GetProperty("problems").EnumerateArray().Select(p => p.GetString()!).ToList();

    [Theory]
    [InlineData("ext4-clean.vmdk")]
    [InlineData("ntfs-clean.vmdk")]
    public void Clean_filesystem_is_clean_and_walked(string image)
    {
        var (code, doc) = Check(Path.Combine(Damaged, image));
        Assert.Equal(0, code);
        Assert.True(doc.GetProperty("clean").GetBoolean());
        var v = Volume(doc, "disk");
        Assert.Equal("ok", v.GetProperty("status").GetString());
        Assert.Empty(Problems(v));
        Assert.True(v.GetProperty("walkComplete").GetBoolean());
        Assert.InRange(v.GetProperty("entriesChecked").GetInt64(), 4, 100);
    }

    [Fact]
    public void Ext4_directory_block_overwritten_is_a_problem_naming_the_volume_and_the_directory()
    {
        var (code, doc) = Check(Path.Combine(Damaged, "ext4-damaged.vmdk"));
        Assert.Equal(1, code);
        Assert.False(doc.GetProperty("clean").GetBoolean());
        var v = Volume(doc, "disk");
        Assert.Equal("problems", v.GetProperty("status").GetString());
        var p = Assert.Single(Problems(v));
        Assert.StartsWith("directory /docs (node 12): cannot be listed", p);
        Assert.Contains("directory record length", p);
        // The rest of the tree is still walked: /top.txt and the root were read.
        Assert.InRange(v.GetProperty("entriesChecked").GetInt64(), 2, 10);
    }

    [Fact]
    public void Ntfs_directory_mft_record_overwritten_is_a_problem_naming_the_record()
    {
        var (code, doc) = Check(Path.Combine(Damaged, "ntfs-damaged.vmdk"));
        Assert.Equal(1, code);
        var v = Volume(doc, "disk");
        Assert.Equal("problems", v.GetProperty("status").GetString());
        Assert.Contains(Problems(v), p => p.Contains("MFT record 64", StringComparison.Ordinal) && p.Contains("'FILE' signature", StringComparison.Ordinal));
        // The human form names the volume and the structure too.
        var text = OurCli.Run(["check", Path.Combine(Damaged, "ntfs-damaged.vmdk")]);
        Assert.Equal(1, text.ExitCode);
        Assert.Contains("volume disk (ntfs): 1 problem(s)", text.StdOut);
        Assert.Contains("MFT record 64", text.StdOut);
    }

    [Fact]
    public void Ext4_group_descriptor_checksum_mismatch_is_a_problem()
    {
        string scratch = RepoPaths.NewScratch("check-gd");
        try
        {
            string img = Path.Combine(scratch, "ext4.img");
            Tool.Run("cp", "--sparse=always", Path.Combine(TestImages.Get("ext-basic"), "ext4_4k.img"), img);
            using (var f = File.OpenHandle(img, FileMode.Open, FileAccess.ReadWrite))
                RandomAccess.Write(f, new byte[] { 0x55, 0xaa }, 4096 + 0x1E); // group descriptor 0's bg_checksum
            var (code, doc) = Check("--raw-input", img);
            Assert.Equal(1, code);
            Assert.Contains(Problems(Volume(doc, "disk")), p => p.StartsWith("group descriptor 0: ", StringComparison.Ordinal) && p.Contains("checksum mismatch", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void Gpt_with_skipped_volumes_is_clean_and_a_lost_backup_header_is_a_problem()
    {
        string clean = Path.Combine(TestImages.Get("volumes-tables"), "gpt.img");
        var (code, doc) = Check("--raw-input", clean);
        Assert.Equal(0, code);
        Assert.Empty(doc.GetProperty("partitionProblems").EnumerateArray());
        Assert.Contains(doc.GetProperty("volumes").EnumerateArray(), v => v.GetProperty("status").GetString() == "skipped");
        Assert.Contains(doc.GetProperty("volumes").EnumerateArray(), v => v.GetProperty("status").GetString() == "ok");

        string scratch = RepoPaths.NewScratch("check-gpt");
        try
        {
            string img = Path.Combine(scratch, "gpt.img");
            Tool.Run("cp", "--sparse=always", clean, img);
            long length = new FileInfo(img).Length;
            using (var f = File.OpenHandle(img, FileMode.Open, FileAccess.ReadWrite))
                RandomAccess.Write(f, new byte[512], length - 512); // the backup GPT header (last LBA)
            var (damagedCode, damaged) = Check("--raw-input", img);
            Assert.Equal(1, damagedCode);
            var p = Assert.Single(damaged.GetProperty("partitionProblems").EnumerateArray());
            Assert.Contains($"backup header at LBA {length / 512 - 1}", p.GetString());
            Assert.Equal(1, damaged.GetProperty("problemCount").GetInt32());
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void The_tree_walk_is_bounded_and_says_where_it_stopped()
    {
        var (code, doc) = Check("--max-entries", "2", Path.Combine(Damaged, "ext4-clean.vmdk"));
        Assert.Equal(0, code);
        var v = Volume(doc, "disk");
        Assert.False(v.GetProperty("walkComplete").GetBoolean());
        Assert.Equal(2, v.GetProperty("entriesChecked").GetInt64());
        Assert.Contains(v.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("stopped after 2 entries", StringComparison.Ordinal));
    }
}
