using System.Text.Json;
using VmdkMount.Fuse;
using VmdkMount.Tests.Fuse;
using VmdkMount.Tests.Infrastructure;
using VmdkMount.Tests.Limits;

namespace VmdkMount.Tests.Package;

/// <summary>
/// The native build and the Debian package, as install/package.sh makes them (once per test run): the AOT binary
/// reads, mounts and unmounts the demo chain without the .NET runtime, and the package installs, serves
/// `mount -t vmdk` through mount.vmdk, and removes without leaving anything behind.
/// </summary>
[Collection(PackageCollection.Name)]
public class NativePackageTests
{
    private static readonly Lazy<(string Binary, string Deb)> Built = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    private static string Demo => Path.Combine(RepoPaths.Root, "images", "demo", "demo-000002.vmdk");

    private static (string, string) Build()
    {
        var r = Tool.Run("bash", [Path.Combine(RepoPaths.Root, "install", "package.sh")], allowFailure: true, timeout: TimeSpan.FromMinutes(20));
        Assert.True(r.ExitCode == 0, $"install/package.sh failed: {r.StdOut}{r.StdErr}");
        string dir = Path.Combine(RepoPaths.Root, "build", "package");
        string binary = Path.Combine(dir, "vmdkmount");
        string deb = Directory.GetFiles(dir, "vmdkmount_*_amd64.deb").Single();
        return (binary, deb);
    }

    private static Tool.Result Native(params string[] args) =>
        Tool.Run(Built.Value.Binary, args, allowFailure: true, timeout: TimeSpan.FromMinutes(2));

    /// <summary>
    /// Issue 17's limit for a mount: a 120-link chain mounted under `ulimit -n 64`. The dotnet host alone holds about
    /// 60 descriptors (Limits/DescriptorLimitTests mounts under 96); the native binary has no such cost.
    /// </summary>
    [Fact]
    public void The_native_binary_mounts_a_120_link_chain_under_ulimit_64_and_reads_it_right()
    {
        const int Limit = 64;
        var (binary, _) = Built.Value;
        string image = TestImages.Get("limits-ext");
        string raw = Path.Combine(image, "disk.raw");
        var manifest = VolumeManifest.Read(image);
        string scratch = RepoPaths.NewScratch("native-limit-64");
        string chain = Path.Combine(scratch, "chain"), mnt = Path.Combine(scratch, "mnt"), state = Path.Combine(scratch, "state");
        Directory.CreateDirectory(chain);
        Directory.CreateDirectory(mnt);
        try
        {
            string top = FsChain.Build(chain, raw, 120);
            var mount = Tool.Run("/bin/bash", ["-c", $"ulimit -n {Limit} && exec \"$0\" \"$@\"", binary, "mount", top, mnt, "--raw", "--state-dir", state],
                allowFailure: true, timeout: TimeSpan.FromMinutes(2));
            Assert.True(mount.ExitCode == 0 && MountTable.Find(mnt) is not null, mount.StdErr + mount.StdOut);
            int pid = new MountState(state).Find(mnt)?.Pid ?? throw new InvalidOperationException("no state record");
            Assert.Equal(Limit, LimitedCli.OpenFileLimitOf(pid));
            Assert.Equal(Hashing.Sha256File(raw), Hashing.Sha256File(Path.Combine(mnt, "disk.img")));
            manifest.AssertTree(Path.Combine(mnt, "p1"));
            Parallel.ForEach(manifest.Files.Take(64), new ParallelOptions { MaxDegreeOfParallelism = 8 },
                f => Assert.Equal(f.HashOrTarget, Hashing.Sha256File(Path.Combine(mnt, "p1") + f.Path)));
            Assert.InRange(LimitedCli.DescriptorCount(pid), 1, Limit);
        }
        finally
        {
            LimitedCli.Unmount(mnt, state);
            LimitedCli.DeleteScratch(scratch);
        }
    }

    [Fact]
    public void The_native_binary_needs_no_dotnet_and_reads_mounts_and_unmounts_the_demo_chain()
    {
        var (binary, _) = Built.Value;
        // a native executable: no dotnet host, no managed entry assembly beside it is needed
        var ldd = Tool.Run("ldd", binary).StdOut;
        Assert.DoesNotContain("libcoreclr", ldd);
        Assert.DoesNotContain("libhostfxr", ldd);
        var magic = new byte[4];
        using (var f = File.OpenRead(binary)) f.ReadExactly(magic);
        Assert.Equal("\u007fELF"u8.ToArray(), magic);

        Assert.Equal(0, Native("--version").ExitCode);
        var volumes = Native("volumes", Demo, "--json");
        Assert.True(volumes.ExitCode == 0, volumes.StdErr);
        var ids = JsonDocument.Parse(volumes.StdOut).RootElement.GetProperty("volumes").EnumerateArray().Select(v => v.GetProperty("id").GetString()).ToList();
        Assert.Equal(["p1", "p2"], ids);
        Assert.Contains("changelog.txt", Native("ls", Demo, "p2:/home/bob").StdOut);
        // every JSON document the engine writes, through the trimmed binary
        foreach (var command in new[] { "info", "map", "check" })
        {
            var r = Native(command, Demo, "--json");
            Assert.True(r.ExitCode == 0, $"{command}: {r.StdErr}");
            JsonDocument.Parse(r.StdOut);
        }
        string scratch = RepoPaths.NewScratch("native");
        try
        {
            // the flattened disk hashes as the demo's recorded oracle (made with qemu-img when the chain was built)
            string raw = Path.Combine(scratch, "demo.raw");
            Assert.Equal(0, Native("export", Demo, raw).ExitCode);
            string oracle = File.ReadAllText(Path.Combine(RepoPaths.Root, "images", "demo", "demo-000002.raw.sha256")).Split(' ')[0].Trim();
            Assert.Equal(oracle, Hashing.Sha256File(raw));

            string mnt = Path.Combine(scratch, "mnt"), state = Path.Combine(scratch, "state");
            Directory.CreateDirectory(mnt);
            var mount = Native("mount", Demo, mnt, "--state-dir", state);
            try
            {
                Assert.True(mount.ExitCode == 0, mount.StdOut + mount.StdErr);
                Assert.Equal(Native("cat", Demo, "p2:/home/bob/changelog.txt").StdOut, File.ReadAllText(Path.Combine(mnt, "p2", "home", "bob", "changelog.txt")));
                Assert.True(Directory.Exists(Path.Combine(mnt, "p1", "Users")));
                var unmount = Native("unmount", mnt, "--state-dir", state);
                Assert.True(unmount.ExitCode == 0, unmount.StdErr);
                Assert.Null(MountTable.Find(mnt));
            }
            finally
            {
                if (MountTable.Find(mnt) is not null) FuseSession.LazyUnmount(mnt);
            }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void The_package_installs_serves_mount_t_vmdk_and_removes_cleanly()
    {
        var (_, deb) = Built.Value;
        string scratch = RepoPaths.NewScratch("deb");
        string mnt = Path.Combine(scratch, "mnt");
        Directory.CreateDirectory(mnt);
        bool installed = false;
        try
        {
            var info = Tool.Run("dpkg-deb", "--field", deb, "Package", "Depends").StdOut;
            Assert.Contains("Package: vmdkmount", info);
            Assert.Contains("fuse3", info);
            var install = Tool.Run("dpkg", ["-i", deb], allowFailure: true);
            installed = install.ExitCode == 0;
            Assert.True(installed, install.StdOut + install.StdErr);

            // first in PATH, ahead of libyal's /usr/bin/vmdkmount, and the man page in section 8
            Assert.Equal("/usr/local/bin/vmdkmount", Tool.Bash("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v vmdkmount").StdOut.Trim());
            Assert.Equal(0, Tool.Run("/usr/local/bin/vmdkmount", "--version").ExitCode);
            Assert.True(File.Exists("/usr/share/man/man8/vmdkmount.8.gz"));
            Assert.True(File.Exists("/usr/share/bash-completion/completions/vmdkmount"));
            Assert.Contains("complete -F _vmdkmount vmdkmount", Tool.Bash(". /usr/share/bash-completion/completions/vmdkmount && complete -p vmdkmount").StdOut);

            // mount(8) runs /sbin/mount.vmdk with the options of an fstab line, in an empty environment
            var mount = Tool.Run("env", ["-i", "mount", "-t", "vmdk", "-o", "ro,volume=p2,nofail,x-systemd.automount", Demo, mnt], allowFailure: true);
            Assert.True(mount.ExitCode == 0, mount.StdOut + mount.StdErr);
            Assert.Equal(OurCli.Run("cat", Demo, "p2:/home/bob/changelog.txt").StdOut, File.ReadAllText(Path.Combine(mnt, "home", "bob", "changelog.txt")));
            Assert.False(Directory.Exists(Path.Combine(mnt, "p1")));   // volume=p2: that volume alone, at the root
            var rw = Tool.Run("mount", ["-t", "vmdk", "-o", "rw", Demo, Path.Combine(scratch)], allowFailure: true);
            Assert.NotEqual(0, rw.ExitCode);
            Assert.Contains("read-only", rw.StdErr);
            Assert.Equal(0, Tool.Run("umount", mnt).ExitCode);
            Assert.Null(MountTable.Find(mnt));
            // the serving process goes with its mount: nothing is left running after a plain umount
            var served = System.Text.RegularExpressions.Regex.Match(mount.StdOut + mount.StdErr, @"serving process (\d+)");
            Assert.True(served.Success, mount.StdOut + mount.StdErr);
            string proc = $"/proc/{served.Groups[1].Value}";
            for (int i = 0; i < 100 && Directory.Exists(proc); i++) Thread.Sleep(100);
            Assert.False(Directory.Exists(proc), "the mount's process still runs after umount");

            var remove = Tool.Run("dpkg", ["-r", "vmdkmount"], allowFailure: true);
            installed = remove.ExitCode != 0;
            Assert.True(remove.ExitCode == 0, remove.StdOut + remove.StdErr);
            Assert.DoesNotContain("warning", remove.StdErr);
            foreach (var path in new[] { "/usr/local/bin/vmdkmount", "/usr/sbin/mount.vmdk", "/usr/lib/vmdkmount", "/usr/share/man/man8/vmdkmount.8.gz" })
                Assert.False(File.Exists(path) || Directory.Exists(path) || new FileInfo(path).LinkTarget is not null, $"{path} left after dpkg -r");
            Assert.True(Directory.Exists("/usr/local/bin"), "dpkg -r removed /usr/local/bin");
        }
        finally
        {
            if (MountTable.Find(mnt) is not null) FuseSession.LazyUnmount(mnt);
            if (installed) Tool.Run("dpkg", ["-r", "vmdkmount"], allowFailure: true);
            Directory.Delete(scratch, recursive: true);
        }
    }
}

/// <summary>
/// The package tests share one build and run one after the other; beside the rest of the suite they may run, since
/// nothing else installs packages or uses /usr/local/bin/vmdkmount or mount.vmdk (so the AOT build overlaps the others).
/// </summary>
[CollectionDefinition(Name)]
public sealed class PackageCollection
{
    public const string Name = "package";
}
