using System.Text.Json;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.EndToEnd;

/// <summary>
/// The bundled demo chain (images/demo) through the command line, checked against independent readers:
/// qemu-img for the flattened disk, sfdisk for the partition table, ntfs-3g and the kernel's ext4 for the files.
/// </summary>
public class DemoChainTests : IClassFixture<DemoChainTests.Oracle>
{
    private static string Chain => Path.Combine(RepoPaths.Root, "images", "demo", "demo-000002.vmdk");
    private readonly Oracle _oracle;

    public DemoChainTests(Oracle oracle) => _oracle = oracle;

    /// <summary>The demo chain flattened by qemu-img, its partition table and both filesystems unpacked by other readers.</summary>
    public sealed class Oracle : IDisposable
    {
        public string Dir { get; } = RepoPaths.NewScratch("demo-oracle");
        public string Raw => Path.Combine(Dir, "flat.raw");
        public string NtfsTree => Path.Combine(Dir, "ntfs-tree");
        public string ExtTree => Path.Combine(Dir, "ext-tree");
        public JsonElement Table { get; }

        public Oracle()
        {
            Tool.Run("qemu-img", "convert", "-f", "vmdk", "-O", "raw", Chain, Raw);
            Table = JsonDocument.Parse(Tool.Run("sfdisk", "--json", Raw).StdOut).RootElement.GetProperty("partitiontable");
            var parts = Table.GetProperty("partitions");
            long ntfsStart = parts[0].GetProperty("start").GetInt64() * 512, ntfsSize = parts[0].GetProperty("size").GetInt64() * 512;
            long extStart = parts[1].GetProperty("start").GetInt64() * 512, extSize = parts[1].GetProperty("size").GetInt64() * 512;
            // ntfs-3g and the kernel each read their own copy of the partition, unpacked with cp -a.
            string mnt = Path.Combine(Dir, "mnt");
            Directory.CreateDirectory(mnt);
            Tool.Bash($"""
                dd if='{Raw}' of='{Dir}/ntfs.img' bs=512 skip={ntfsStart / 512} count={ntfsSize / 512} status=none
                ntfs-3g -o ro '{Dir}/ntfs.img' '{mnt}'
                trap "umount '{mnt}'" EXIT
                mkdir -p '{NtfsTree}'
                cp -a '{mnt}/.' '{NtfsTree}/'
                """);
            Tool.Bash($"""
                mkdir -p '{ExtTree}'
                mount -o loop,ro,offset={extStart},sizelimit={extSize} '{Raw}' '{mnt}'
                trap "umount '{mnt}'" EXIT
                cp -a '{mnt}/.' '{ExtTree}/'
                rm -rf '{ExtTree}/lost+found'
                """);
        }

        public void Dispose() => Directory.Delete(Dir, recursive: true);
    }

    [Fact]
    public void Export_is_byte_identical_to_qemu_img_convert()
    {
        string outFile = Path.Combine(_oracle.Dir, "export.raw");
        var r = OurCli.Run("export", Chain, outFile);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(Hashing.Sha256File(_oracle.Raw), Hashing.Sha256File(outFile));
        string expected = File.ReadAllText(Path.Combine(RepoPaths.Root, "images", "demo", "demo-000002.raw.sha256")).Trim();
        Assert.Equal(expected, Hashing.Sha256File(outFile));
    }

    [Fact]
    public void Volumes_match_sfdisk_and_name_both_filesystems()
    {
        var r = OurCli.Run("volumes", Chain, "--json");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var doc = JsonDocument.Parse(r.StdOut).RootElement;
        Assert.Equal("mbr", doc.GetProperty("disk").GetProperty("scheme").GetString());
        var vols = doc.GetProperty("volumes").EnumerateArray().ToList();
        var parts = _oracle.Table.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(parts.Count, vols.Count);
        for (int i = 0; i < parts.Count; i++)
        {
            Assert.Equal($"p{i + 1}", vols[i].GetProperty("id").GetString());
            Assert.Equal(parts[i].GetProperty("start").GetInt64() * 512, vols[i].GetProperty("offset").GetInt64());
            Assert.Equal(parts[i].GetProperty("size").GetInt64() * 512, vols[i].GetProperty("size").GetInt64());
            Assert.True(vols[i].GetProperty("mountable").GetBoolean());
        }
        Assert.Equal("ntfs", vols[0].GetProperty("filesystem").GetString());
        Assert.Equal("DemoNTFS", vols[0].GetProperty("label").GetString());
        Assert.Equal("ext4", vols[1].GetProperty("filesystem").GetString());
        Assert.Equal("DemoExt4", vols[1].GetProperty("label").GetString());
    }

    [Theory]
    [InlineData("p1")]
    [InlineData("p2")]
    public void Extract_of_a_whole_volume_matches_the_independent_reader(string volume)
    {
        string dest = Path.Combine(_oracle.Dir, "extract-" + volume);
        // Link texts as stored, to compare with the oracle's copy (by default they are rewritten to stay inside DEST,
        // see Safety/ExtractSafetyTests).
        var r = OurCli.Run("extract", Chain, volume + ":/", dest, "--keep-link-targets");
        Assert.True(r.ExitCode == 0, r.StdErr);
        string oracle = volume == "p1" ? _oracle.NtfsTree : _oracle.ExtTree;
        if (volume == "p2") Directory.Delete(Path.Combine(dest, "lost+found"), recursive: true);
        TreeAssert.Equal(oracle, dest, compareTimes: true);
    }

    [Fact]
    public void Cat_shows_the_file_that_only_the_first_incremental_holds()
    {
        var r = OurCli.Run("cat", Chain, "p1:/Users/alice/Documents/invoice.xlsx");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_oracle.NtfsTree, "Users/alice/Documents/invoice.xlsx")), r.StdOutBytes);
        // A lookup in another case finds the file, as on Windows.
        var upper = OurCli.Run("cat", Chain, "p1:/USERS/Alice/documents/INVOICE.XLSX");
        Assert.True(upper.ExitCode == 0, upper.StdErr);
        Assert.Equal(r.StdOutBytes, upper.StdOutBytes);
    }

    [Fact]
    public void Ls_json_lists_every_path_the_independent_reader_has()
    {
        var r = OurCli.Run("ls", Chain, "p2:/", "-R", "--json");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var doc = JsonDocument.Parse(r.StdOut).RootElement;
        Assert.Equal("p2", doc.GetProperty("volume").GetString());
        var ours = doc.GetProperty("entries").EnumerateArray()
            .Select(e => e.GetProperty("path").GetString()!)
            .Where(p => p != "/lost+found" && !p.StartsWith("/lost+found/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        var theirs = Directory.EnumerateFileSystemEntries(_oracle.ExtTree, "*", SearchOption.AllDirectories)
            .Select(p => "/" + Path.GetRelativePath(_oracle.ExtTree, p)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(theirs, ours);
        var link = doc.GetProperty("entries").EnumerateArray().Single(e => e.GetProperty("name").GetString() == "hostname-link");
        Assert.Equal("symlink", link.GetProperty("type").GetString());
        Assert.Equal("/etc/hostname", link.GetProperty("target").GetString());
    }

    [Fact]
    public void A_missing_path_exits_2_with_a_message_naming_it()
    {
        var r = OurCli.Run("cat", Chain, "p1:/no/such/file.txt");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("p1:/no/such/file.txt", r.StdErr);
    }

    [Fact]
    public void Reading_leaves_the_chain_files_byte_identical()
    {
        string dir = Path.Combine(RepoPaths.Root, "images", "demo");
        var before = Hashing.Snapshot(dir);
        OurCli.Run("extract", Chain, "p1:/", Path.Combine(_oracle.Dir, "again"));
        OurCli.Run("ls", Chain, "p2:/", "-R", "-l");
        Assert.Equal(before, Hashing.Snapshot(dir));
    }
}
