using System.Text;
using System.Text.Json;
using VmdkMount.Cli;
using VmdkMount.Tests.Fuse;
using VmdkMount.Tests.Infrastructure;
using static VmdkMount.Tests.Safety.RestoreSafetyKit;

namespace VmdkMount.Tests.Names;

/// <summary>
/// Names a damaged or hostile volume holds (images/names-safety.sh: mke2fs -d; mkntfs + ntfs-3g with one UTF-16 unit
/// patched to '/' or NUL) show as distinct names, open by exactly those names in `cat`, `ls` and a real mount, and
/// restore as distinct entries inside DEST only.
/// </summary>
public class NamesSafetyTests
{
    private const string HostFolder = "/tmp/vmdkmount-names-safety-outside"; // where the image's absolute symlink points
    private static string Images => TestImages.Get("names-safety");
    private static string Ext => Path.Combine(Images, "names-ext.vmdk");
    private static string Ntfs => Path.Combine(Images, "names-ntfs.vmdk");

    private static readonly Dictionary<string, string> ExtFiles = new(StringComparer.Ordinal)
    {
        ["esc_\u001b[31mred"] = "esc\n", ["nl_a\nb"] = "nl\n", ["bel_\u0007"] = "bel\n",
    };

    private static Dictionary<string, JsonElement> LsJson(string disk, string path)
    {
        var r = OurCli.Run("ls", disk, path, "--json");
        Assert.True(r.ExitCode == 0, r.StdErr);
        return JsonDocument.Parse(r.StdOut).RootElement.GetProperty("entries").EnumerateArray()
            .ToDictionary(e => e.GetProperty("name").GetString()!, e => e.Clone(), StringComparer.Ordinal);
    }

    [Fact]
    public void Ext_a_valid_name_reading_like_an_escape_and_the_raw_name_show_as_two_names()
    {
        var entries = LsJson(Ext, "disk:/top");
        Assert.Equal(["bel_\u0007", "d%25FF", "d%FF", "esc_\u001b[31mred", "nl_a\nb"], entries.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("dir", entries["d%25FF"].GetProperty("type").GetString());
        Assert.Equal("symlink", entries["d%FF"].GetProperty("type").GetString());
        Assert.Equal("literal-dir\n", OurCli.Run("cat", Ext, "disk:/top/d%25FF/inner.txt").StdOut);
        foreach (var (name, content) in ExtFiles)
        {
            var r = OurCli.Run("cat", Ext, "disk:/top/" + name);
            Assert.True(r.ExitCode == 0, r.StdErr);
            Assert.Equal(content, r.StdOut);
        }
        // only the shown spelling opens: the lower-case escape and the unescaped text name nothing
        Assert.Equal(2, OurCli.Run(["cat", Ext, "disk:/top/d%ff/inner.txt"], allowFailure: true).ExitCode);
        Assert.Equal(2, OurCli.Run(["cat", Ext, "disk:/top/d%25ff/inner.txt"], allowFailure: true).ExitCode);
    }

    [Fact]
    public void Ext_plain_ls_never_writes_a_raw_control_character_and_stderr_escapes_names()
    {
        var r = OurCli.Run("ls", Ext, "disk:/top");
        Assert.Equal(0, r.ExitCode);
        Assert.False(TerminalText.HasUnsafe(r.StdOut.Replace("\n", "")), r.StdOut);
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["'bel_'$'\\a'", "'esc_'$'\\033''[31mred'", "'nl_a'$'\\n''b'", "d%25FF", "d%FF"], lines.Order(StringComparer.Ordinal));
        var missing = OurCli.Run(["cat", Ext, "disk:/top/nope\u001b]0;x\u0007\nvmdkmount: forged"], allowFailure: true);
        Assert.Equal(2, missing.ExitCode);
        Assert.False(TerminalText.HasUnsafe(missing.StdErr.TrimEnd('\n')), missing.StdErr);
        Assert.Single(missing.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Ext_extract_writes_both_names_as_distinct_entries_inside_dest_only()
    {
        string scratch = RepoPaths.NewScratch("names-extract");
        Directory.CreateDirectory(HostFolder);
        try
        {
            WriteText(Path.Combine(HostFolder, "keep.txt"), "host");
            string dest = Path.Combine(scratch, "dest");
            WriteText(Path.Combine(scratch, "sibling.txt"), "beside dest");
            var before = Snapshot(scratch, skip: dest);
            var host = Snapshot(HostFolder);

            var r = RunCli("extract", "-q", Ext, "disk:/top", dest);
            Assert.True(r.ExitCode == 0, r.StdErr);

            Assert.Equal(before, Snapshot(scratch, skip: dest));
            Assert.Equal(host, Snapshot(HostFolder));
            Assert.Equal("literal-dir\n", File.ReadAllText(Path.Combine(dest, "d%25FF", "inner.txt")));
            Assert.NotNull(new FileInfo(Path.Combine(dest, "d%FF")).LinkTarget);
            Assert.Empty(LinksResolvingOutside(dest));
            foreach (var (name, content) in ExtFiles) Assert.Equal(content, File.ReadAllText(Path.Combine(dest, name)));
            Assert.Equal(["bel_\u0007", "d%25FF", "d%FF", "esc_\u001b[31mred", "nl_a\nb"],
                Directory.EnumerateFileSystemEntries(dest).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
            File.Delete(Path.Combine(HostFolder, "keep.txt"));
        }
    }

    [Fact]
    public void Ntfs_names_holding_slash_or_nul_show_escaped_and_open_by_the_shown_name()
    {
        var slash = LsJson(Ntfs, "disk:/slash");
        Assert.Equal(["a%252Fb.txt", "a%2Fb.txt"], slash.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("slash\n", OurCli.Run("cat", Ntfs, "disk:/slash/a%2Fb.txt").StdOut);
        Assert.Equal("literal\n", OurCli.Run("cat", Ntfs, "disk:/slash/a%252Fb.txt").StdOut);
        Assert.Equal(["a%00b.txt"], LsJson(Ntfs, "disk:/nul").Keys);
        Assert.Equal("nul\n", OurCli.Run("cat", Ntfs, "disk:/nul/a%00b.txt").StdOut);
        Assert.Equal(2, OurCli.Run(["cat", Ntfs, "disk:/slash/a%2fb.txt"], allowFailure: true).ExitCode);
        // a '/' inside a component of a Windows symlink target is escaped like the name it leads to
        Assert.Equal("/slash/a%2Fb.txt", LsJson(Ntfs, "disk:/")["link_slash"].GetProperty("target").GetString());
    }

    [Fact]
    public void Ntfs_extract_writes_a_single_file_named_with_the_escape_and_nothing_outside_dest()
    {
        string scratch = RepoPaths.NewScratch("names-ntfs-extract");
        try
        {
            string dest = Path.Combine(scratch, "dest");
            WriteText(Path.Combine(scratch, "sibling.txt"), "beside dest");
            Directory.CreateDirectory(Path.Combine(scratch, "a"));
            var before = Snapshot(scratch, skip: dest);
            var r = RunCli("extract", "-q", Ntfs, "disk:/slash", dest);
            Assert.True(r.ExitCode == 0, r.StdErr);
            Assert.Equal(before, Snapshot(scratch, skip: dest));
            Assert.Equal(["a%252Fb.txt", "a%2Fb.txt"], Directory.EnumerateFileSystemEntries(dest).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.Equal("slash\n", File.ReadAllText(Path.Combine(dest, "a%2Fb.txt")));
            Assert.Equal("literal\n", File.ReadAllText(Path.Combine(dest, "a%252Fb.txt")));
            Directory.CreateDirectory(Path.Combine(scratch, "one"));
            var one = RunCli("extract", "-q", Ntfs, "disk:/nul/a%00b.txt", Path.Combine(scratch, "one"));
            Assert.True(one.ExitCode == 0, one.StdErr);
            Assert.Equal("nul\n", File.ReadAllText(Path.Combine(scratch, "one", "a%00b.txt")));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void A_mount_shows_the_same_names_and_looks_each_up_by_it()
    {
        string scratch = RepoPaths.NewScratch("names-mount");
        try
        {
            using (var m = new CliMount(Ntfs, Path.Combine(scratch, "mnt"), Path.Combine(scratch, "state")))
            {
                string root = Path.Combine(m.MountPoint, "disk");
                Assert.Equal(["a%252Fb.txt", "a%2Fb.txt"], Directory.EnumerateFileSystemEntries(Path.Combine(root, "slash")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
                Assert.Equal("slash\n", File.ReadAllText(Path.Combine(root, "slash", "a%2Fb.txt")));
                Assert.Equal("literal\n", File.ReadAllText(Path.Combine(root, "slash", "a%252Fb.txt")));
                Assert.Equal("nul\n", File.ReadAllText(Path.Combine(root, "nul", "a%00b.txt")));
                Assert.Equal("slash\n", File.ReadAllText(Path.Combine(root, "link_slash")));
                Assert.False(File.Exists(Path.Combine(root, "slash", "a%2fb.txt")));
            }
            using (var m = new CliMount(Ext, Path.Combine(scratch, "mnt2"), Path.Combine(scratch, "state2")))
            {
                string top = Path.Combine(m.MountPoint, "disk", "top");
                Assert.Equal(["bel_\u0007", "d%25FF", "d%FF", "esc_\u001b[31mred", "nl_a\nb"],
                    Directory.EnumerateFileSystemEntries(top).Select(Path.GetFileName).Order(StringComparer.Ordinal));
                Assert.Equal("literal-dir\n", File.ReadAllText(Path.Combine(top, "d%25FF", "inner.txt")));
                foreach (var (name, content) in ExtFiles) Assert.Equal(content, File.ReadAllText(Path.Combine(top, name)));
                string resolved = Tool.Bash($"realpath -m '{Path.Combine(top, "d%FF")}'").StdOut.Trim();
                Assert.Equal(Path.Combine(m.MountPoint, "disk", "tmp", "vmdkmount-names-safety-outside"), resolved);
            }
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public void A_path_argument_that_is_not_utf8_names_nothing_not_the_file_its_replacement_character_spells()
    {
        Assert.Equal("replacement-char\n", OurCli.Run(["cat", Ext, "disk:/fffd/\uFFFD"]).StdOut);
        // The byte 0xFF reaches .NET as U+FFFD; the raw command line shows it was not that name.
        var r = Tool.Bash($"dotnet '{OurCli.Dll}' cat '{Ext}' 'disk:/fffd/'$'\\xff'", allowFailure: true);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.StdOut);
        Assert.Contains("not UTF-8", r.StdErr);
        // An output path likewise: nothing is written under the name .NET made of it.
        string scratch = RepoPaths.NewScratch("names-dest");
        try
        {
            var x = Tool.Bash($"dotnet '{OurCli.Dll}' extract -q '{Ext}' disk:/fffd '{scratch}/'$'\\xff'", allowFailure: true);
            Assert.Equal(2, x.ExitCode);
            Assert.Contains("DEST", x.StdErr);
            Assert.Empty(Directory.EnumerateFileSystemEntries(scratch));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void Check_reports_entries_no_name_can_show_as_problems_of_their_directory()
    {
        var r = OurCli.Run(["check", Ext], allowFailure: true);
        Assert.True(r.ExitCode == 1, r.StdOut + r.StdErr);
        Assert.Contains("directory /bogus: entry '..' (node ", r.StdOut);
        Assert.Contains("directory /bogus: entry '.' (node ", r.StdOut);
        var json = OurCli.Run(["check", Ext, "--json"], allowFailure: true);
        Assert.Equal(1, json.ExitCode);
        var volume = JsonDocument.Parse(json.StdOut).RootElement.GetProperty("volumes").EnumerateArray().Single();
        Assert.Equal("problems", volume.GetProperty("status").GetString());
        Assert.Equal(2, volume.GetProperty("problems").EnumerateArray().Count(p => p.GetString()!.Contains("cannot be shown")));
    }

    [Fact]
    public void Ls_reports_entries_no_name_can_show_and_exits_1()
    {
        Assert.Contains(" .\n", File.ReadAllText(Path.Combine(Images, "bogus.listing")).Replace("\r", ""));
        var r = OurCli.Run(["ls", Ext, "disk:/bogus"], allowFailure: true);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("ok.txt\n", r.StdOut);
        var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains(lines, l => l.StartsWith("vmdkmount: disk:/bogus: entry '..' (inode ", StringComparison.Ordinal) && l.Contains("cannot be shown"));
        Assert.Contains(lines, l => l.StartsWith("vmdkmount: disk:/bogus: entry '.' (inode ", StringComparison.Ordinal) && l.Contains("cannot be shown"));
        var json = OurCli.Run(["ls", Ext, "disk:/bogus", "--json"], allowFailure: true);
        Assert.Equal(1, json.ExitCode);
        var unshown = JsonDocument.Parse(json.StdOut).RootElement.GetProperty("unshown").EnumerateArray().ToList();
        Assert.Equal([".", ".."], unshown.Select(u => u.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        Assert.All(unshown, u => Assert.Equal("/bogus", u.GetProperty("path").GetString()));

        // a second entry with the same name (restore-hostile patches one in): listed once, the other reported
        string hostile = Path.Combine(TestImages.Get("restore-hostile"), "hostile.img");
        var dup = OurCli.Run(["ls", "--raw-input", hostile, "disk:/dup_file"], allowFailure: true);
        Assert.Equal(1, dup.ExitCode);
        Assert.Equal("DUPNAME1\n", dup.StdOut);
        Assert.Contains("entry 'DUPNAME1' (inode ", dup.StdErr);
        Assert.Contains("same name", dup.StdErr);
    }

    [Theory]
    [InlineData("names-fat.vmdk", "fat")]
    [InlineData("names-exfat.vmdk", "exfat")]
    public void Fat_and_exfat_names_holding_slash_show_escaped_and_open_by_the_shown_name(string image, string kind)
    {
        string disk = Path.Combine(Images, image);
        Assert.Equal(["a%252Fb.txt", "a%2Fb.txt"], LsJson(disk, "disk:/").Keys.Order(StringComparer.Ordinal));
        Assert.Equal($"{kind}-slash\n", OurCli.Run("cat", disk, "disk:/a%2Fb.txt").StdOut);
        Assert.Equal($"{kind}-literal\n", OurCli.Run("cat", disk, "disk:/a%252Fb.txt").StdOut);
        Assert.Equal($"{kind}-slash\n", OurCli.Run("cat", disk, "disk:/A%2FB.TXT").StdOut); // lookups ignore case here
        string scratch = RepoPaths.NewScratch("names-fat-extract");
        try
        {
            string dest = Path.Combine(scratch, "dest");
            var r = RunCli("extract", "-q", disk, "disk:/", dest);
            Assert.True(r.ExitCode == 0, r.StdErr);
            Assert.Equal(["a%252Fb.txt", "a%2Fb.txt"], Directory.EnumerateFileSystemEntries(dest).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.Equal($"{kind}-slash\n", File.ReadAllText(Path.Combine(dest, "a%2Fb.txt")));
            Assert.Equal(["dest"], Directory.EnumerateFileSystemEntries(scratch).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}
