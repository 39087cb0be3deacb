using System.Text.Json;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Cli;

/// <summary>
/// A chain whose parent was moved to another folder (a restored backup set, copied piecemeal): the missing-parent
/// error lists each path it tried once and suggests --parent-dir; with --parent-dir the parent is found there by the
/// hinted file name, or by CID when it was renamed too, and the chain reads as qemu-img reads it. Chains by qemu-img.
/// </summary>
public sealed class ParentDirTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("parent-dir");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>base.vmdk in old/, child.vmdk in kids/ hinting "../old/base.vmdk"; both written through qemu-io.</summary>
    private string MakeChain()
    {
        Tool.Bash("""
            mkdir -p old kids
            qemu-img create -q -f vmdk old/base.vmdk 4M
            qemu-io -f vmdk -c 'write -P 0x5a 0 64k' old/base.vmdk >/dev/null
            cd kids
            qemu-img create -q -f vmdk -b ../old/base.vmdk -F vmdk child.vmdk
            qemu-io -f vmdk -c 'write -P 0x33 1M 64k' child.vmdk >/dev/null
            qemu-img convert -f vmdk -O raw child.vmdk ../expected.raw
            """, _dir);
        // the shape the test is about: the child names its parent by a relative path into old/
        Tool.Bash("grep -aq 'parentFileNameHint=\"../old/base.vmdk\"' kids/child.vmdk", _dir);
        return Path.Combine(_dir, "kids", "child.vmdk");
    }

    [Fact]
    public void A_moved_parent_is_reported_with_each_tried_path_once_and_found_with_parent_dir()
    {
        string child = MakeChain();
        Directory.Move(Path.Combine(_dir, "old"), Path.Combine(_dir, "moved"));
        var before = Hashing.Snapshot(_dir);

        var missing = OurCli.Run("info", child);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("parent disk missing", missing.StdErr);
        Assert.Contains("--parent-dir", missing.StdErr);
        string tried = Path.Combine(_dir, "old", "base.vmdk");
        int at = missing.StdErr.IndexOf(tried, StringComparison.Ordinal);
        Assert.True(at >= 0, missing.StdErr);
        Assert.Equal(-1, missing.StdErr.IndexOf(tried, at + tried.Length, StringComparison.Ordinal));

        var json = OurCli.Run("info", child, "--json");
        Assert.Contains("--parent-dir", JsonDocument.Parse(json.StdOut).RootElement.GetProperty("error").GetProperty("hint").GetString());

        string moved = Path.Combine(_dir, "moved");
        var info = OurCli.Run("info", child, "--parent-dir", moved, "--json");
        Assert.Equal(0, info.ExitCode);
        var links = JsonDocument.Parse(info.StdOut).RootElement.GetProperty("chain").EnumerateArray().ToList();
        Assert.Equal(2, links.Count);
        Assert.Contains("moved", links[1].ToString());

        string raw = Path.Combine(_dir, "out.raw");
        Assert.Equal(0, OurCli.Run("export", child, raw, "--parent-dir", moved).ExitCode);
        Assert.Equal(Hashing.Sha256File(Path.Combine(_dir, "expected.raw")), Hashing.Sha256File(raw));
        File.Delete(raw);
        Assert.Equal(before, Hashing.Snapshot(_dir));
    }

    [Fact]
    public void A_moved_and_renamed_parent_is_found_by_cid_in_the_parent_dir_and_other_folders_are_searched_in_order()
    {
        string child = MakeChain();
        Directory.CreateDirectory(Path.Combine(_dir, "empty"));
        Directory.CreateDirectory(Path.Combine(_dir, "moved"));
        File.Move(Path.Combine(_dir, "old", "base.vmdk"), Path.Combine(_dir, "moved", "renamed-base.vmdk"));

        var notThere = OurCli.Run("info", child, "--parent-dir", Path.Combine(_dir, "empty"));
        Assert.Equal(2, notThere.ExitCode);
        Assert.Contains(Path.Combine(_dir, "empty"), notThere.StdErr);

        string raw = Path.Combine(_dir, "out.raw");
        var export = OurCli.Run("export", child, raw, "--parent-dir", Path.Combine(_dir, "empty"), "--parent-dir", Path.Combine(_dir, "moved"));
        Assert.True(export.ExitCode == 0, export.StdErr);
        Assert.Equal(Hashing.Sha256File(Path.Combine(_dir, "expected.raw")), Hashing.Sha256File(raw));

        // --confine still bounds what a parent folder may offer
        var confined = OurCli.Run("info", child, "--parent-dir", Path.Combine(_dir, "moved"), "--confine", Path.Combine(_dir, "kids"));
        Assert.Equal(2, confined.ExitCode);
        Assert.Contains("parent disk missing", confined.StdErr);
    }
}
