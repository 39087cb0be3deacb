using System.Text.Json;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Vmdk;

/// <summary>`info`, `check`, `map`, `export` as a user runs them (a separate process), checked against qemu-img.</summary>
public sealed class VmdkCliTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("vmdk-cli");
    private static string Images => TestImages.Get("vmdk-qemu");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tool.Result Cli(params string[] args) =>
        Tool.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "vmdkmount.dll"), .. args], allowFailure: true);

    [Fact]
    public void Info_json_lists_the_chain_with_qemus_cids()
    {
        var r = Cli("info", "--json", Path.Combine(Images, "c4.vmdk"));
        Assert.Equal(0, r.ExitCode);
        using var ours = JsonDocument.Parse(r.StdOut);
        using var qemu = JsonDocument.Parse(File.ReadAllText(Path.Combine(Images, "c4.info.json")));
        var chain = ours.RootElement.GetProperty("chain").EnumerateArray().ToList();
        var q = qemu.RootElement.EnumerateArray().ToList();
        Assert.Equal(q.Count, chain.Count);
        Assert.Equal(q.Count, ours.RootElement.GetProperty("disk").GetProperty("links").GetInt32());
        for (int i = 0; i < q.Count; i++)
        {
            var data = q[i].GetProperty("format-specific").GetProperty("data");
            Assert.Equal(Path.GetFileName(q[i].GetProperty("filename").GetString()), Path.GetFileName(chain[i].GetProperty("file").GetString()));
            Assert.Equal(data.GetProperty("cid").GetInt64().ToString("x8"), chain[i].GetProperty("cid").GetString());
            Assert.Equal(data.GetProperty("parent-cid").GetInt64().ToString("x8"), chain[i].GetProperty("parentCid").GetString());
            Assert.Equal(data.GetProperty("create-type").GetString(), chain[i].GetProperty("createType").GetString());
            Assert.Equal(q[i].GetProperty("virtual-size").GetInt64(), chain[i].GetProperty("capacity").GetInt64());
            Assert.Equal(65536, chain[i].GetProperty("grainSize").GetInt64());
            Assert.True(chain[i].GetProperty("extents").GetArrayLength() >= 1);
        }
        Assert.Equal(67108864, ours.RootElement.GetProperty("disk").GetProperty("capacity").GetInt64());
    }

    [Fact]
    public void Map_json_matches_qemu_map()
    {
        var r = Cli("map", "--json", Path.Combine(Images, "c4.vmdk"));
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.StdOut);
        var ours = new List<(long, long)>();
        foreach (var e in doc.RootElement.GetProperty("ranges").EnumerateArray())
        {
            long s = e.GetProperty("offset").GetInt64(), l = e.GetProperty("length").GetInt64();
            if (ours.Count > 0 && ours[^1].Item1 + ours[^1].Item2 == s) ours[^1] = (ours[^1].Item1, ours[^1].Item2 + l);
            else ours.Add((s, l));
        }
        Assert.Equal(VmdkOracle.QemuDataRanges(Path.Combine(Images, "c4.map.json")), ours);
    }

    [Fact]
    public void Export_writes_a_sparse_raw_image_identical_to_qemu_convert()
    {
        string outFile = Path.Combine(_dir, "c4.raw");
        var r = Cli("export", Path.Combine(Images, "c4.vmdk"), outFile, "--json");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.StartsWith("{", r.StdOut);
        Assert.Equal(Hashing.Sha256File(Path.Combine(Images, "c4.raw")), Hashing.Sha256File(outFile));
        long blocks = long.Parse(Tool.Run("stat", "-c", "%b", outFile).StdOut.Trim());
        Assert.True(blocks * 512 < new FileInfo(outFile).Length / 2, $"not sparse: {blocks} blocks");
    }

    [Fact]
    public void Export_shows_a_progress_bar_only_on_a_terminal()
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "vmdkmount.dll");
        string disk = Path.Combine(Images, "ms.vmdk");
        var piped = Cli("export", disk, Path.Combine(_dir, "a.raw"));
        Assert.Equal(0, piped.ExitCode);
        Assert.DoesNotContain('\u001b', piped.StdOut);
        // `script` (bsdutils) runs the command on a pseudo-terminal
        var tty = Tool.Run("script", ["-qec", $"dotnet '{cli}' export '{disk}' '{Path.Combine(_dir, "b.raw")}'", "/dev/null"]);
        Assert.Contains("100%", tty.StdOut);
        Assert.Contains('\u001b', tty.StdOut);
        Assert.Equal(Hashing.Sha256File(Path.Combine(_dir, "a.raw")), Hashing.Sha256File(Path.Combine(_dir, "b.raw")));
    }

    [Fact]
    public void Check_exit_codes_clean_problems_and_cannot_open()
    {
        var clean = Cli("check", "--json", Path.Combine(Images, "c4.vmdk"));
        Assert.Equal(0, clean.ExitCode);
        using (var doc = JsonDocument.Parse(clean.StdOut)) Assert.True(doc.RootElement.GetProperty("clean").GetBoolean());
        var mismatch = Cli("check", Path.Combine(Images, "cidchild.vmdk"));
        Assert.Equal(2, mismatch.ExitCode);
        Assert.Contains("CID", mismatch.StdErr);
        var overridden = Cli("check", "--ignore-cid-mismatch", "--json", Path.Combine(Images, "cidchild.vmdk"));
        Assert.Equal(1, overridden.ExitCode);
        using (var doc = JsonDocument.Parse(overridden.StdOut)) Assert.Equal(1, doc.RootElement.GetProperty("chainProblems").GetArrayLength());
        Assert.Equal(2, Cli("info", Path.Combine(_dir, "missing.vmdk")).ExitCode);
    }

    [Fact]
    public void Raw_input_is_read_as_is()
    {
        var r = Cli("info", "--json", "--raw-input", Path.Combine(Images, "mf.raw"));
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.StdOut);
        Assert.Equal(16L << 20, doc.RootElement.GetProperty("disk").GetProperty("capacity").GetInt64());
    }
}
