using System.Text.Json;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Cli;

/// <summary>
/// `vmdkmount find` against GNU find on the tree an ext4 image was made from (mke2fs -d): the same matches for
/// names, case-insensitive names, sizes, types and modification times, one volume or all.
/// </summary>
public class FindCommandTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("find");
    private readonly string _tree;
    private readonly string _image;

    public FindCommandTests()
    {
        _tree = Path.Combine(_dir, "tree");
        _image = Path.Combine(_dir, "ext4.img");
        Tool.Bash($"""
            set -e
            cd '{_dir}'
            mkdir -p tree/Users/alice/Documents tree/Users/bob/Old tree/etc tree/deep/a/b/c
            printf 'x%.0s' $(seq 3000) > tree/Users/alice/Documents/Invoice-2026-11.xlsx
            echo small > tree/Users/alice/Documents/notes.TXT
            echo other > tree/Users/bob/Old/invoice-2019.xlsx
            head -c 200000 /dev/urandom > tree/deep/a/b/c/big.bin
            echo conf > tree/etc/app.conf
            ln -s ../Users/alice tree/etc/alice-link
            touch -d '2019-03-01 10:00:00' tree/Users/bob/Old/invoice-2019.xlsx tree/Users/bob/Old
            touch -d '2026-11-24 18:30:00' tree/Users/alice/Documents/Invoice-2026-11.xlsx
            mke2fs -q -t ext4 -d tree ext4.img 16M
            """);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private List<string> Ours(params string[] args)
    {
        var r = OurCli.Run(["find", _image, "--raw-input", .. args]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        return r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToList();
    }

    private List<string> GnuFind(string args) =>
        Tool.Bash($"cd '{_tree}' && find . -mindepth 1 {args} -printf 'disk:/%P\\n'").StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToList();

    [Theory]
    [InlineData(new string[0], "")]
    [InlineData(new[] { "--name", "*.xlsx" }, "-name '*.xlsx'")]
    [InlineData(new[] { "--iname", "invoice*" }, "-iname 'invoice*'")]
    [InlineData(new[] { "--name", "[!i]*" }, "-name '[!i]*'")]
    [InlineData(new[] { "--type", "d" }, "-type d")]
    [InlineData(new[] { "--type", "l" }, "-type l")]
    [InlineData(new[] { "--type", "f", "--size", "+2k" }, "-type f -size +2048c")]
    [InlineData(new[] { "--size", "-10" }, "-size -10c")]
    [InlineData(new[] { "--newer", "2026-01-01T00:00Z", "--type", "f", "--name", "*.xlsx" }, "-newermt '2026-01-01 00:00Z' -type f -name '*.xlsx'")]
    [InlineData(new[] { "--older", "2020-01-01T00:00Z" }, "! -newermt '2020-01-01 00:00Z'")]
    public void Matches_are_those_gnu_find_gives_on_the_source_tree(string[] ours, string gnu)
    {
        var expected = GnuFind(gnu);
        Assert.NotEmpty(expected);
        var got = Ours(ours);
        // mke2fs makes lost+found, which the source tree has not
        got.RemoveAll(p => p.StartsWith("disk:/lost+found", StringComparison.Ordinal));
        Assert.Equal(expected, got);
    }

    [Fact]
    public void Below_a_path_with_json_and_nul_separated_output()
    {
        Assert.Equal(["disk:/Users/alice/Documents/Invoice-2026-11.xlsx", "disk:/Users/alice/Documents/notes.TXT"], Ours("disk:/Users/alice", "--type", "f"));
        var r = OurCli.Run("find", _image, "--raw-input", "disk:/Users", "--iname", "*.XLSX", "--json");
        Assert.Equal(0, r.ExitCode);
        var matches = JsonDocument.Parse(r.StdOut).RootElement.GetProperty("matches").EnumerateArray().ToList();
        Assert.Equal(["/Users/alice/Documents/Invoice-2026-11.xlsx", "/Users/bob/Old/invoice-2019.xlsx"], matches.Select(m => m.GetProperty("path").GetString()));
        Assert.Equal(3000, matches[0].GetProperty("size").GetInt64());
        Assert.Equal("2019-03-01", matches[1].GetProperty("mtime").GetString()![..10]);
        var nul = OurCli.Run("find", _image, "--raw-input", "disk:/etc", "-0");
        Assert.Equal("disk:/etc/alice-link\0disk:/etc/app.conf\0", nul.StdOut);
        var bad = OurCli.Run("find", _image, "--raw-input", "--size", "big");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--size", bad.StdErr);
    }
}
