using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Cli;

/// <summary>
/// Progress bars on a terminal, none in a pipe, none with --quiet: each long command run under a pseudo-terminal made
/// by util-linux `script` (its stdout and stderr are then the terminal) and in the plain pipes of the test runner.
/// A Spectre live display hides the cursor while it draws (ESC [?25l); that sequence is what tells a bar was drawn.
/// </summary>
public sealed class ProgressBarTests : IDisposable
{
    private const string HideCursor = "\u001b[?25l";
    private static string Demo => Path.Combine(RepoPaths.Root, "images", "demo", "demo-000002.vmdk");
    private readonly string _dir = RepoPaths.NewScratch("progress");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string OnTerminal(params string[] args)
    {
        string command = string.Join(' ', new[] { "dotnet", OurCli.Dll }.Concat(args).Select(Quote));
        var r = Tool.Run("script", ["-qec", command, "/dev/null"], allowFailure: true);
        Assert.True(r.ExitCode is 0 or 1, $"script {command}: exit {r.ExitCode}\n{r.StdErr}");
        return r.StdOut;
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    public static TheoryData<string> Commands => ["check", "export", "extract", "changed"];

    private string[] Args(string command, string tag) => command switch
    {
        "check" => ["check", Demo],
        "export" => ["export", Demo, Path.Combine(_dir, tag + ".raw")],
        "changed" => ["changed", Demo, "--since", "2"],
        _ => ["extract", Demo, "p2:/home", Path.Combine(_dir, tag)],
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void A_terminal_gets_a_bar_and_quiet_or_a_pipe_gets_none(string command)
    {
        string shown = OnTerminal(Args(command, "tty"));
        Assert.Contains(HideCursor, shown);

        string quiet = OnTerminal([.. Args(command, "quiet"), "--quiet"]);
        Assert.DoesNotContain(HideCursor, quiet);

        var piped = OurCli.Run(Args(command, "pipe"));
        Assert.True(piped.ExitCode == 0, piped.StdErr);
        Assert.DoesNotContain("\u001b", piped.StdOut);
        Assert.DoesNotContain("\u001b", piped.StdErr);
    }

    [Fact]
    public void Check_on_a_terminal_names_the_links_and_counts_the_entries_of_each_volume()
    {
        string shown = OnTerminal("check", Demo);
        Assert.Matches(@"link demo(-00000[12])?\.vmdk", shown);
        Assert.Matches(@"volume p2: \d+ entries", shown);
        Assert.Contains("clean", shown);
    }

    [Fact]
    public void Json_on_a_terminal_is_the_document_alone()
    {
        string shown = OnTerminal("check", Demo, "--json");
        Assert.DoesNotContain(HideCursor, shown);
        Assert.Contains("\"clean\":true", shown);
    }
}
