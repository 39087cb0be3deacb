using System.Text;
using System.Text.Json;
using VmdkMount.Cli;
using VmdkMount.Cli.Commands;
using VmdkMount.Core.FileSystems;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Names;

/// <summary>
/// Names with control characters never reach a terminal raw: shell-escape quoting on a terminal (GNU ls's default
/// there), the same quoting for such names when redirected, exact names in JSON; bash reads every quoted form back
/// to the exact name.
/// </summary>
public class TerminalTextTests
{
    private static readonly string[] Hostile =
    [
        "a\nb", "\u001b[31mred", "bell\u0007", "del\u007f", "c1\u0085x", "\u009b2J", "tab\there", "cr\rover", "\nlead",
        "it's", "'quoted'", "$'x'", "\"dq\"", "a b", "plain.txt", "ünï 日本", "rtl\u202Eeman.txt", "back\\slash", "~home", "",
    ];

    [Fact]
    public void On_a_terminal_names_are_shell_escape_quoted_as_gnu_ls_does()
    {
        Assert.Equal("plain.txt", TerminalText.ForTerminal("plain.txt"));
        Assert.Equal("ünï_日本", TerminalText.ForTerminal("ünï_日本"));
        Assert.Equal("'a'$'\\n''b'", TerminalText.ForTerminal("a\nb"));
        Assert.Equal("$'\\033''[31mred'", TerminalText.ForTerminal("\u001b[31mred"));
        Assert.Equal("'bell'$'\\a'", TerminalText.ForTerminal("bell\u0007"));
        Assert.Equal("'del'$'\\177'", TerminalText.ForTerminal("del\u007f"));
        Assert.Equal("'c1'$'\\302\\205''x'", TerminalText.ForTerminal("c1\u0085x"));
        Assert.Equal("'a b'", TerminalText.ForTerminal("a b"));
        Assert.Equal("'it'\\''s'", TerminalText.ForTerminal("it's"));
        foreach (var n in Hostile) Assert.False(TerminalText.HasUnsafe(TerminalText.ForTerminal(n)), n);
    }

    [Fact]
    public void Redirected_names_are_exact_unless_they_hold_a_control_character_or_begin_like_a_quoted_name()
    {
        Assert.Equal("a b", TerminalText.ForPipe("a b"));
        Assert.Equal("plain.txt", TerminalText.ForPipe("plain.txt"));
        Assert.Equal("back\\slash", TerminalText.ForPipe("back\\slash"));
        Assert.Equal("'a'$'\\n''b'", TerminalText.ForPipe("a\nb"));
        Assert.Equal("''\\''quoted'\\'", TerminalText.ForPipe("'quoted'"));
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var n in Hostile)
        {
            string shown = TerminalText.ForPipe(n);
            Assert.False(TerminalText.HasUnsafe(shown), shown);
            Assert.DoesNotContain('\n', shown);
            if (shown != n) Assert.True(shown[0] is '\'' or '$', shown); // a quoted form is recognisable
            Assert.False(seen.TryGetValue(shown, out var other), $"{shown}: {other}");
            seen[shown] = n;
        }
    }

    [Fact]
    public void Bash_reads_every_quoted_form_back_to_the_exact_name()
    {
        foreach (var n in Hostile)
        {
            foreach (var shown in new[] { TerminalText.ForTerminal(n), TerminalText.ShellEscape(n) })
            {
                var r = Tool.Run("/bin/bash", "-c", "printf '%s' " + shown);
                Assert.Equal(Encoding.UTF8.GetBytes(n), r.StdOutBytes);
            }
        }
    }

    [Fact]
    public void Diagnostics_never_carry_a_control_character()
    {
        Assert.Equal("p1:/a\\x0Ab: no such file", TerminalText.ForDiagnostic("p1:/a\nb: no such file"));
        Assert.Equal("\\x1B[2J\\u009B", TerminalText.ForDiagnostic("\u001b[2J\u009b"));
        var sink = new StringWriter();
        var w = new DiagnosticWriter(sink);
        w.WriteLine("vmdkmount: x\ny\u001b");
        w.Write("log line 1\nlog\u0007 2\n");
        Assert.Equal("vmdkmount: x\\x0Ay\\x1B" + Environment.NewLine + "log line 1\nlog\\x07 2\n", sink.ToString());
    }

    private sealed class OneDirectory(params string[] names) : IFileSystem
    {
        public string Kind => "test";
        public string? Label => null;
        public long RootId => 1;
        public IReadOnlyList<string> Warnings => [];
        public FsNode? Lookup(long directoryId, string name) => null;
        public IEnumerable<FsDirEntry> List(long directoryId) =>
            names.Select((n, i) => new FsDirEntry(n, new FsNode { Id = 10 + i, Type = FsNodeType.File, Size = 1 }));
        public FsNode Stat(long id) => new() { Id = id, Type = FsNodeType.Directory, Size = 0 };
        public int Read(long id, long offset, Span<byte> destination) => 0;
        public void Dispose() { }
    }

    private static string RunLs(IFileSystem fs, bool json, bool terminal)
    {
        using var output = new MemoryStream();
        var tree = SingleVolumeTree.Of(fs);
        new LsCommand.Lister(tree, longFormat: false, recursive: false, json: json) { Terminal = terminal }.Run("p1", "/", tree.Root, output);
        return Encoding.UTF8.GetString(output.ToArray());
    }

    [Fact]
    public void Ls_escapes_names_in_text_and_keeps_them_exact_in_json()
    {
        var fs = new OneDirectory("a\nb", "\u001b]0;pwned\u0007", "plain");
        foreach (bool terminal in new[] { true, false })
        {
            string text = RunLs(fs, json: false, terminal);
            Assert.DoesNotContain('\u001b', text);
            Assert.DoesNotContain('\u0007', text);
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, lines.Length);
            Assert.Contains("'a'$'\\n''b'", lines);
            Assert.Contains("plain", lines);
        }
        string doc = RunLs(fs, json: true, terminal: true);
        Assert.DoesNotContain('\u001b', doc);
        var names = JsonDocument.Parse(doc).RootElement.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToList();
        Assert.Equal(new[] { "\u001b]0;pwned\u0007", "a\nb", "plain" }, names);
    }
}
