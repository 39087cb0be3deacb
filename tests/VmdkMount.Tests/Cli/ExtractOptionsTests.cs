using System.Text.Json;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Cli;

/// <summary>
/// `extract` as a restore user expects of cp: one summary line on success (files, bytes, destination, time), -n keeps
/// what is already at DEST (folders merged into), -v names each entry, and symlinks keep their own times. The demo
/// chain's ext4 volume; its times come from `ls --json`, checked against stat of the restored entries.
/// </summary>
public sealed class ExtractOptionsTests : IDisposable
{
    private static string Demo => Path.Combine(RepoPaths.Root, "images", "demo", "demo-000002.vmdk");
    private readonly string _dest = RepoPaths.NewScratch("extract-options");

    public void Dispose() => Directory.Delete(_dest, recursive: true);

    private static long Stat(string format, string path) =>
        long.Parse(Tool.Run("stat", "-c", format, path).StdOut.Trim(), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Success_prints_one_summary_line_and_quiet_prints_nothing()
    {
        var r = OurCli.Run("extract", Demo, "p2:/home", _dest);
        Assert.Equal(0, r.ExitCode);
        var line = Assert.Single(r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches(@"^restored 3 files and 2 folders \(51 B\) to .+ in \d+\.\d s$", line);
        Assert.Contains(_dest, line);

        var quiet = OurCli.Run("extract", Demo, "p2:/home", Path.Combine(_dest, "again"), "-q");
        Assert.Equal(0, quiet.ExitCode);
        Assert.Equal("", quiet.StdOut);
    }

    [Fact]
    public void No_clobber_keeps_existing_entries_merges_folders_and_restores_the_rest()
    {
        string bob = Path.Combine(_dest, "home", "bob");
        Directory.CreateDirectory(bob);
        File.WriteAllText(Path.Combine(bob, "todo.txt"), "mine\n");
        File.CreateSymbolicLink(Path.Combine(bob, "hostname-link"), "/nowhere");
        var r = OurCli.Run("extract", Demo, "p2:/home", _dest, "-n", "-v");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("mine\n", File.ReadAllText(Path.Combine(bob, "todo.txt")));
        Assert.Equal("/nowhere", new FileInfo(Path.Combine(bob, "hostname-link")).LinkTarget);
        var expected = OurCli.Run("cat", Demo, "p2:/home/bob/changelog.txt").StdOutBytes;
        Assert.Equal(expected, File.ReadAllBytes(Path.Combine(bob, "changelog.txt")));
        Assert.Contains("p2:/home/bob/changelog.txt -> " + Path.Combine(bob, "changelog.txt"), r.StdOut);
        Assert.Contains("skipped p2:/home/bob/todo.txt", r.StdOut);
        Assert.Contains("2 kept as they were (--no-clobber)", r.StdOut);

        // without -n the same run replaces them
        Assert.Equal(0, OurCli.Run("extract", Demo, "p2:/home", _dest, "-q").ExitCode);
        Assert.Equal(OurCli.Run("cat", Demo, "p2:/home/bob/todo.txt").StdOutBytes, File.ReadAllBytes(Path.Combine(bob, "todo.txt")));
    }

    [Fact]
    public void A_file_in_the_way_of_a_folder_is_kept_with_no_clobber()
    {
        File.WriteAllText(Path.Combine(_dest, "home"), "a file, not a folder\n");
        var r = OurCli.Run("extract", Demo, "p2:/home", _dest, "-n");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("a file, not a folder\n", File.ReadAllText(Path.Combine(_dest, "home")));
        Assert.Contains("kept as they were", r.StdOut);
    }

    [Fact]
    public void Restored_symlinks_and_files_keep_their_own_modification_times()
    {
        var listing = JsonDocument.Parse(OurCli.Run("ls", Demo, "p2:/home/bob", "--json").StdOut).RootElement.GetProperty("entries");
        Assert.Equal(0, OurCli.Run("extract", Demo, "p2:/home/bob", _dest, "-q").ExitCode);
        foreach (var e in listing.EnumerateArray())
        {
            string restored = Path.Combine(_dest, "bob", e.GetProperty("name").GetString()!);
            long expected = DateTimeOffset.Parse(e.GetProperty("mtime").GetString()!, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeSeconds();
            Assert.Equal(expected, Stat("%Y", restored)); // stat does not follow a link: the link's own time
        }
        Assert.Contains(listing.EnumerateArray(), e => e.GetProperty("type").GetString() == "symlink");
    }
}
