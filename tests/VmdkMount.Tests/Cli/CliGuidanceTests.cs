using System.Text.Json;
using VmdkMount.Cli;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Cli;

/// <summary>
/// A hurried user's edges, through the real CLI process: every command's help shows real examples, a bad value is
/// named in the tool's words (no .NET type names), errors say what to try, `--json` failures are JSON on stdout, and
/// the short forms (`ls DISK`, `p1` for `p1:/`) work.
/// </summary>
public class CliGuidanceTests
{
    private static string Demo => Path.Combine(RepoPaths.Root, "images", "demo", "demo-000002.vmdk");

    [Fact]
    public void Every_command_has_a_description_and_two_or_three_examples_in_its_help()
    {
        var names = Program.BuildRoot().Subcommands.Select(c => c.Name).ToList();
        Assert.True(names.Count >= 11, string.Join(", ", names));
        foreach (var name in names)
        {
            Assert.Contains(name, CommandExamples.Commands);
            var r = OurCli.Run(name, "--help");
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("Description:", r.StdOut);
            Assert.Contains("Examples:", r.StdOut);
            // the lines of the Examples block (the usage line below it starts with "vmdkmount NAME" too)
            var block = r.StdOut.Split('\n').SkipWhile(l => !l.Contains("Examples:")).Skip(1).TakeWhile(l => l.Trim().Length > 0);
            int examples = block.Count(l => l.TrimStart().StartsWith($"vmdkmount {name} ", StringComparison.Ordinal));
            Assert.True(examples is >= 2 and <= 3, $"{name}: {examples} examples\n{r.StdOut}");
            Assert.DoesNotContain("QueryAllocatedBlocks", r.StdOut);
        }
    }

    [Theory]
    [InlineData("--uid", "bob", "--uid takes a whole number")]
    [InlineData("--threads", "many", "--threads takes a whole number")]
    public void A_bad_value_is_named_in_the_tools_words(string option, string value, string expected)
    {
        var r = OurCli.Run("mount", Demo, "/nonexistent-mnt", option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.StdErr);
        Assert.DoesNotContain("System.", r.StdErr);
        Assert.Contains("vmdkmount mount --help", r.StdErr);
    }

    [Fact]
    public void A_raw_image_suggests_raw_input_and_with_json_the_error_is_a_json_document()
    {
        string dir = RepoPaths.NewScratch("raw-hint");
        try
        {
            string raw = Path.Combine(dir, "disk.raw");
            using (var f = File.Create(raw)) f.SetLength(4 << 20);
            var text = OurCli.Run("volumes", raw);
            Assert.Equal(2, text.ExitCode);
            Assert.Contains("hint:", text.StdErr);
            Assert.Contains("--raw-input", text.StdErr);
            var json = OurCli.Run("volumes", raw, "--json");
            Assert.Equal(2, json.ExitCode);
            var error = JsonDocument.Parse(json.StdOut).RootElement.GetProperty("error");
            Assert.Contains("not a VMDK", error.GetProperty("message").GetString());
            Assert.Equal("corrupt", error.GetProperty("code").GetString());
            Assert.Contains("--raw-input", error.GetProperty("hint").GetString());
            Assert.Equal(0, OurCli.Run("volumes", raw, "--raw-input").ExitCode);
            // a usage error with --json is JSON too
            var usage = OurCli.Run("info", Demo, "--json", "--no-such-option");
            Assert.Equal(2, usage.ExitCode);
            Assert.Equal("usage", JsonDocument.Parse(usage.StdOut).RootElement.GetProperty("error").GetProperty("code").GetString());
            // a missing path is not-found, exit 2
            var missing = OurCli.Run("ls", Demo, "p2:/no/such/dir", "--json");
            Assert.Equal(2, missing.ExitCode);
            Assert.Equal("not-found", JsonDocument.Parse(missing.StdOut).RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_truncated_stream_suggests_recover_truncated_which_every_disk_command_accepts()
    {
        string file = Path.Combine(RepoPaths.RealImages, "govmomi-ttylinux", "ttylinux-pc_i486-16.1-disk1.vmdk");
        var r = OurCli.Run("volumes", file);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("invalid footer", r.StdErr);
        Assert.Contains("--recover-truncated", r.StdErr);
        foreach (var command in new[] { "volumes", "info", "map", "check" })
        {
            var ok = OurCli.Run(command, file, "--recover-truncated");
            Assert.DoesNotContain("Unrecognized", ok.StdErr);
            Assert.True(ok.ExitCode is 0 or 1, $"{command}: {ok.ExitCode} {ok.StdErr}");
        }
        var ls = OurCli.Run("ls", file, "--recover-truncated");
        Assert.DoesNotContain("Unrecognized", ls.StdErr);
        Assert.Equal(0, ls.ExitCode);
    }

    [Fact]
    public void Mount_refuses_a_file_and_a_folder_that_holds_files_unless_told()
    {
        string dir = RepoPaths.NewScratch("mount-target");
        try
        {
            string file = Path.Combine(dir, "file");
            File.WriteAllText(file, "x");
            var onFile = OurCli.Run("mount", Demo, file, "--state-dir", Path.Combine(dir, "state"));
            Assert.Equal(2, onFile.ExitCode);
            Assert.Contains("is a file, not a folder", onFile.StdErr);
            string full = Path.Combine(dir, "full");
            Directory.CreateDirectory(full);
            File.WriteAllText(Path.Combine(full, "keep.txt"), "mine");
            var onFull = OurCli.Run("mount", Demo, full, "--state-dir", Path.Combine(dir, "state"));
            Assert.Equal(2, onFull.ExitCode);
            Assert.Contains("is not empty", onFull.StdErr);
            Assert.Contains("--nonempty", onFull.StdErr);
            Assert.Equal("mine", File.ReadAllText(Path.Combine(full, "keep.txt")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Ls_without_a_path_lists_the_volumes_and_a_bare_volume_id_is_its_root()
    {
        var volumes = OurCli.Run("volumes", Demo);
        var ls = OurCli.Run("ls", Demo);
        Assert.Equal(0, ls.ExitCode);
        Assert.Equal(volumes.StdOut, ls.StdOut);
        var jsonLs = JsonDocument.Parse(OurCli.Run("ls", Demo, "--json").StdOut).RootElement;
        Assert.Equal(2, jsonLs.GetProperty("volumes").GetArrayLength());
        var bare = OurCli.Run("ls", Demo, "p2");
        Assert.Equal(0, bare.ExitCode);
        Assert.Equal(OurCli.Run("ls", Demo, "p2:/").StdOut, bare.StdOut);
        Assert.Contains("home", bare.StdOut);
    }
}
