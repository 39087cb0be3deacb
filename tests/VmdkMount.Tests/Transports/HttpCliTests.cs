using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using VmdkMount.Core.Caching;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Transports.Http;
using VmdkMount.Fuse;
using VmdkMount.Tests.Fuse;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Transports;

/// <summary>The CLI on an HTTP DISK: info, volumes, ls, cat, extract, export, mount; --header; nothing secret in any output.</summary>
public sealed class HttpCliTests : HttpChainTestBase
{
    [Fact]
    public void Info_volumes_ls_cat_and_export_work_on_an_http_disk()
    {
        Serve();
        using var server = StartServer();
        string url = server.Url("vm%201/" + Top);
        var info = OurCli.Run("info", url, "--json");
        Assert.True(info.ExitCode == 0, info.StdErr);
        var doc = JsonNode.Parse(info.StdOut)!;
        Assert.Equal(url, (string)doc["disk"]!["source"]!);
        Assert.Equal(4, doc["chain"]!.AsArray().Count);
        var volumes = OurCli.Run("volumes", url, "--json");
        Assert.True(volumes.ExitCode == 0, volumes.StdErr);
        Assert.Equal("ext4", (string)JsonNode.Parse(volumes.StdOut)!["volumes"]![0]!["filesystem"]!);
        var ls = OurCli.Run("ls", url, "p1:/docs");
        Assert.True(ls.ExitCode == 0, ls.StdErr);
        Assert.Equal(["a.txt", "new.txt"], ls.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
        Assert.Equal(File.ReadAllText(Path.Combine(_images, "expect", "a.txt")), OurCli.Run("cat", url, "p1:/docs/a.txt").StdOut);
        var big = OurCli.Run("cat", url, "p1:/big.bin");
        Assert.Equal(Hashing.Sha256File(Path.Combine(_images, "expect", "big.bin")), Hashing.Sha256(big.StdOutBytes));
        string dest = Path.Combine(_dir, "restore");
        var extract = OurCli.Run("extract", url, "p1:/docs", dest);
        Assert.True(extract.ExitCode == 0, extract.StdErr);
        Assert.Equal("new in disk-000002\n", File.ReadAllText(Path.Combine(dest, "new.txt")));
        string img = Path.Combine(_dir, "flat.img");
        var export = OurCli.Run("export", url, img);
        Assert.True(export.ExitCode == 0, export.StdErr);
        Assert.Equal(Expected, Hashing.Sha256File(img));
    }

    [Fact]
    public void Credentials_presigned_queries_and_header_values_never_appear_in_any_output()
    {
        Serve();
        using var server = StartServer();
        string secret = $"http://alice:pw-SECRET-1@127.0.0.1:{server.Port}/vm%201/{Top}?X-Amz-Signature=SIG-SECRET-2&X-Amz-Credential=CRED-SECRET-3";
        string missing = $"http://alice:pw-SECRET-1@127.0.0.1:{server.Port}/vm%201/nope.vmdk?X-Amz-Signature=SIG-SECRET-2";
        string norange = $"http://alice:pw-SECRET-1@127.0.0.1:{server.Port}/norange/vm%201/{Top}?X-Amz-Signature=SIG-SECRET-2";
        string[] header = ["--header", "X-Api-Key: HDR-SECRET-4"];
        var runs = new List<(string[] Args, int Exit)>
        {
            (["info", secret, "--json", .. header], 0), (["info", secret, .. header], 0), (["volumes", secret, "--json", .. header], 0),
            (["ls", secret, "p1:/docs", "--json", .. header], 0), (["cat", secret, "p1:/docs/a.txt", .. header], 0),
            (["info", missing, .. header], 2), (["info", norange, "--json", .. header], 2), (["cat", secret, "p1:/nope", .. header], 2),
        };
        foreach (var (args, exit) in runs)
        {
            var r = OurCli.Run(args);
            Assert.True(r.ExitCode == exit, $"{string.Join(' ', args[..1])}: exit {r.ExitCode}: {r.StdErr}");
            foreach (var s in new[] { "SECRET", "alice" })
            {
                Assert.DoesNotContain(s, r.StdOut);
                Assert.DoesNotContain(s, r.StdErr);
            }
        }
        var info = JsonNode.Parse(OurCli.Run(["info", secret, "--json"]).StdOut)!;
        Assert.Equal($"http://127.0.0.1:{server.Port}/vm%201/{Top}?X-Amz-Signature=<redacted>&X-Amz-Credential=<redacted>", (string)info["disk"]!["source"]!);
    }

    [Fact]
    public void A_header_given_with_the_option_reaches_the_server()
    {
        Serve();
        using var server = StartServer();
        string url = server.Url("bearer/vm%201/" + Top);
        var refused = OurCli.Run("ls", url, "p1:/docs");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("401", refused.StdErr);
        Assert.Contains("--header", refused.StdErr);
        var ok = OurCli.Run("ls", url, "p1:/docs", "--header", "Authorization: Bearer t");
        Assert.True(ok.ExitCode == 0, ok.StdErr);
        Assert.Contains("new.txt", ok.StdOut);
    }

    [Fact]
    public void A_mount_of_an_http_disk_serves_its_files_and_keeps_the_url_in_its_state()
    {
        Serve();
        using var server = StartServer();
        string url = server.Url("vm%201/" + Top);
        using var mount = new CliMount(url, Path.Combine(_dir, "mnt"), Path.Combine(_dir, "state"), "--raw");
        Assert.Equal("only from child 1\n", File.ReadAllText(Path.Combine(mount.MountPoint, "p1", "child1.txt")));
        Assert.Equal(Expected, Hashing.Sha256File(Path.Combine(mount.MountPoint, "disk.img")));
        Assert.Equal(url, new MountState(mount.StateDir).Find(mount.MountPoint)!.Disk);
    }
}
