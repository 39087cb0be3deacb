using System.Text;
using VmdkMount.Tests.Infrastructure;
using W = VmdkMount.Tests.Vmdk.VmdkTestWriter;

namespace VmdkMount.Tests.Safety;

/// <summary>
/// A descriptor is untrusted input that names host files. Every file a chain opens must be a regular file of the
/// backup: extents inside their descriptor's folder (unless --allow-outside-extents), parents that are VMDKs, nothing
/// under /proc, /sys or /dev however spelled, no FIFO, socket or device node, and everything under --confine DIR.
/// Each refusal is exit 2 within a bounded time, names the file, leaks no host bytes and leaves the chain unchanged.
/// </summary>
public sealed class ChainFileSafetyTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly string _dir = RepoPaths.NewScratch("chain-safety");
    private readonly string _chain;
    private readonly string _other;

    public ChainFileSafetyTests()
    {
        _chain = Path.Combine(_dir, "chain");
        _other = Path.Combine(_dir, "other");
        Directory.CreateDirectory(_chain);
        Directory.CreateDirectory(_other);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const long Cap = 2048;

    /// <summary>A text descriptor with one FLAT extent of 8 sectors naming <paramref name="extent"/> as written.</summary>
    private string FlatDescriptor(string name, string extent, long sectors = 8, string? folder = null)
    {
        string p = Path.Combine(folder ?? _chain, name);
        File.WriteAllText(p, "# Disk DescriptorFile\nversion=1\nCID=11112222\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n" +
                             $"\n# Extent description\nRW {sectors} FLAT \"{extent}\" 0\n");
        return p;
    }

    /// <summary>A monolithic sparse link whose grain <paramref name="fill"/> % 16 holds the byte <paramref name="fill"/>.</summary>
    private static string Sparse(string dir, string name, uint cid, uint parentCid, string? hint, byte fill)
    {
        string path = Path.Combine(dir, name);
        W.WriteHosted(path, Cap, 8, new Dictionary<long, byte[]?> { [fill % 16] = W.Fill(4096, fill) }, W.Descriptor(cid, parentCid, hint, Cap, name));
        return path;
    }

    private static void Sh(string script, string dir) => Tool.Bash(script, dir, timeout: Bound);

    /// <summary>Hashes of the regular files the test made (special files are never read by the test either).</summary>
    private Dictionary<string, string> Hashes() =>
        Directory.EnumerateFiles(_dir, "*", SearchOption.AllDirectories)
            .Where(f => (File.GetAttributes(f) & FileAttributes.ReparsePoint) == 0 && IsRegular(f))
            .ToDictionary(f => f, Hashing.Sha256File);

    private static bool IsRegular(string f) =>
        Tool.Run("stat", ["-c", "%F", f], timeout: Bound).StdOut.Trim() is "regular file" or "regular empty file";

    /// <summary>Runs the CLI in a child process; a hang is killed at <see cref="Bound"/> and fails the test.</summary>
    private static Tool.Result Cli(params string[] args) => OurCli.Run(args, allowFailure: true, timeout: Bound);

    /// <summary>
    /// The command is refused: exit 2, stderr names <paramref name="file"/> and says <paramref name="why"/>, and no
    /// byte of a host file reached stdout or the output file.
    /// </summary>
    private void AssertRefused(string file, string why, params string[] args)
    {
        var before = Hashes();
        var r = Cli(args);
        Assert.True(r.ExitCode == 2, $"vmdkmount {string.Join(' ', args)}: exit {r.ExitCode}\nstdout: {r.StdOut}\nstderr: {r.StdErr}");
        Assert.Contains(file, r.StdErr);
        Assert.Contains(why, r.StdErr);
        Assert.DoesNotContain("root:", r.StdOut);
        Assert.DoesNotContain("root:", r.StdErr);
        string output = Path.Combine(_dir, "out.img");
        if (File.Exists(output))
        {
            Assert.DoesNotContain("root:", Encoding.Latin1.GetString(File.ReadAllBytes(output)));
            File.Delete(output);
        }
        Assert.Equal(before, Hashes());
    }

    /// <summary>info, export and cat of a disk: each must refuse it the same way.</summary>
    private void AssertEveryCommandRefuses(string disk, string file, string why, params string[] extra)
    {
        AssertRefused(file, why, ["info", disk, .. extra]);
        AssertRefused(file, why, ["export", disk, Path.Combine(_dir, "out.img"), .. extra]);
        AssertRefused(file, why, ["cat", disk, "p1:/x", .. extra]);
    }

    [Theory]
    [InlineData("/etc/shadow", "/etc/shadow")]
    [InlineData("../../../../../../../../../../etc/passwd", "/etc/passwd")]
    [InlineData("//dev/zero", "//dev/zero")]
    [InlineData("/./dev/zero", "/./dev/zero")]
    [InlineData("/proc/self/root/etc/passwd", "/proc/self/root/etc/passwd")]
    public void Extent_outside_the_descriptors_folder_is_refused(string extent, string named)
    {
        string d = FlatDescriptor("d.vmdk", extent);
        AssertEveryCommandRefuses(d, named, $"lies outside the descriptor's folder {_chain}; use --allow-outside-extents");
        Assert.Contains("d.vmdk", Cli("info", d).StdErr);
    }

    [Theory]
    [InlineData("//dev/zero", "/dev")]
    [InlineData("/./dev/zero", "/dev")]
    [InlineData("/proc/self/root/etc/passwd", "/proc")]
    [InlineData("/proc/self/status", "/proc")]
    [InlineData("/sys/kernel/uevent_seqnum", "/sys")]
    [InlineData("/dev/fd/0", "device")]
    public void Kernel_files_are_refused_even_with_allow_outside_extents(string extent, string why)
    {
        string d = FlatDescriptor("d.vmdk", extent);
        AssertEveryCommandRefuses(d, extent, why, "--allow-outside-extents");
    }

    [Fact]
    public void Symlink_in_the_folder_to_a_host_file_is_refused()
    {
        File.CreateSymbolicLink(Path.Combine(_chain, "link-flat.vmdk"), "/etc/passwd");
        string d = FlatDescriptor("d.vmdk", "link-flat.vmdk");
        AssertEveryCommandRefuses(d, "link-flat.vmdk", "resolves to /etc/passwd, which lies outside the descriptor's folder");
    }

    [Fact]
    public void Symlink_in_the_folder_to_dev_is_refused_with_allow_outside_extents()
    {
        File.CreateSymbolicLink(Path.Combine(_chain, "zero-flat.vmdk"), "/dev/zero");
        string d = FlatDescriptor("d.vmdk", "zero-flat.vmdk");
        AssertEveryCommandRefuses(d, "zero-flat.vmdk", "resolves to /dev/zero, inside /dev", "--allow-outside-extents");
    }

    [Fact]
    public void Fifo_extent_returns_promptly_with_a_clear_error()
    {
        Sh("mkfifo fifo-flat.vmdk", _chain);
        string d = FlatDescriptor("d.vmdk", "fifo-flat.vmdk");
        AssertEveryCommandRefuses(d, "fifo-flat.vmdk", "a FIFO (named pipe), not a regular file");
    }

    [Fact]
    public void Fifo_as_disk_or_raw_input_returns_promptly()
    {
        Sh("mkfifo disk.vmdk", _chain);
        string fifo = Path.Combine(_chain, "disk.vmdk");
        AssertEveryCommandRefuses(fifo, fifo, "FIFO");
        AssertEveryCommandRefuses(fifo, fifo, "FIFO", "--raw-input");
    }

    [Fact]
    public void Fifo_among_the_parent_candidates_is_skipped_without_blocking()
    {
        Sh("mkfifo trap.vmdk", _chain);
        string child = Sparse(_chain, "child.vmdk", 0x22, 0x21, "gone.vmdk", 2);
        AssertRefused("child.vmdk", "parent disk missing", "info", child);
        Sh("rm gone.vmdk 2>/dev/null || true; ln -s trap.vmdk gone.vmdk", _chain);
        AssertRefused("gone.vmdk", "FIFO", "info", child);
    }

    [Fact]
    public void Socket_extent_is_refused()
    {
        Sh("python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('sock-flat.vmdk')\"", _chain);
        string d = FlatDescriptor("d.vmdk", "sock-flat.vmdk");
        AssertEveryCommandRefuses(d, "sock-flat.vmdk", "a socket, not a regular file");
    }

    [Theory]
    [InlineData("c 1 5", "a character device")]
    [InlineData("b 7 0", "a block device")]
    public void Device_node_in_the_folder_is_refused(string node, string kind)
    {
        Sh($"mknod dev-flat.vmdk {node}", _chain);
        string d = FlatDescriptor("d.vmdk", "dev-flat.vmdk");
        AssertEveryCommandRefuses(d, "dev-flat.vmdk", kind);
        string dev = Path.Combine(_chain, "dev-flat.vmdk");
        AssertEveryCommandRefuses(dev, dev, kind, "--raw-input");
    }

    [Fact]
    public void Raw_input_of_a_device_is_refused() => AssertEveryCommandRefuses("/dev/zero", "/dev/zero", "leads through /dev", "--raw-input");

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("notvmdk.bin")]
    public void Parent_that_is_not_a_VMDK_is_refused(string hint)
    {
        File.WriteAllBytes(Path.Combine(_chain, "notvmdk.bin"), W.Fill(65536, 0x5A));
        string child = Sparse(_chain, "child.vmdk", 0x32, 0x31, hint, 2);
        string named = hint.StartsWith('/') ? hint : Path.Combine(_chain, hint);
        AssertEveryCommandRefuses(child, named, "is not a VMDK");
        AssertRefused(named, "is not a VMDK", "info", child, "--ignore-cid-mismatch");
        Assert.Contains("child.vmdk", Cli("info", child).StdErr);
    }

    [Fact]
    public void Parent_in_another_folder_with_the_wrong_CID_opens_with_ignore_cid_mismatch()
    {
        string parent = Sparse(_other, "base.vmdk", 0x41, 0xFFFFFFFF, null, 1);
        string child = Sparse(_chain, "child.vmdk", 0x43, 0x42, parent, 2);
        AssertRefused("CID mismatch", "--ignore-cid-mismatch opens it anyway", "info", child);
        var r = Cli("info", child, "--ignore-cid-mismatch");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("base.vmdk", r.StdOut);
    }

    [Fact]
    public void Confine_accepts_a_chain_inside_and_refuses_a_parent_outside()
    {
        string inBase = Sparse(_chain, "base.vmdk", 0x51, 0xFFFFFFFF, null, 1);
        string inChild = Sparse(_chain, "child.vmdk", 0x52, 0x51, "base.vmdk", 2);
        var ok = Cli("info", inChild, "--confine", _chain);
        Assert.True(ok.ExitCode == 0, ok.StdErr);
        Assert.Contains(inBase, ok.StdOut);

        string outBase = Sparse(_other, "obase.vmdk", 0x61, 0xFFFFFFFF, null, 1);
        string outChild = Sparse(_chain, "ochild.vmdk", 0x62, 0x61, outBase, 2);
        Assert.Equal(0, Cli("info", outChild).ExitCode);
        AssertEveryCommandRefuses(outChild, outBase, $"outside the --confine folder {_chain}", "--confine", _chain);
    }

    [Fact]
    public void Confine_applies_to_the_disk_argument_and_links_to_it()
    {
        string outside = Sparse(_other, "disk.vmdk", 0x71, 0xFFFFFFFF, null, 1);
        AssertRefused(outside, "outside the --confine folder", "info", outside, "--confine", _chain);
        string link = Path.Combine(_chain, "disk.vmdk");
        File.CreateSymbolicLink(link, outside);
        AssertRefused(link, $"resolves to {outside}, outside the --confine folder", "info", link, "--confine", _chain);
        AssertRefused(link, "outside the --confine folder", "info", link, "--confine", _chain, "--raw-input");
        AssertRefused(Path.Combine(_dir, "nowhere"), "--confine is not a folder", "info", link, "--confine", Path.Combine(_dir, "nowhere"));
    }

    [Fact]
    public void Allow_outside_extents_reads_an_outside_flat_extent_and_confine_still_bounds_it()
    {
        string flat = Path.Combine(_other, "shared-flat.vmdk");
        Sh($"dd if=/dev/urandom of='{flat}' bs=4096 count=16 status=none", _other);
        string d = FlatDescriptor("d.vmdk", flat, sectors: 128);
        AssertRefused(flat, "lies outside the descriptor's folder", "info", d);
        var before = Hashes();

        string output = Path.Combine(_dir, "out.img");
        var r = Cli("export", d, output, "--allow-outside-extents");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(Hashing.Sha256File(flat), Hashing.Sha256File(output));
        File.Delete(output);
        Assert.Equal(before, Hashes());

        AssertRefused(flat, $"outside the --confine folder {_chain}", "export", d, output, "--allow-outside-extents", "--confine", _chain);
        var both = Cli("info", d, "--allow-outside-extents", "--confine", _dir);
        Assert.True(both.ExitCode == 0, both.StdErr);
    }

    [Fact]
    public void A_chain_of_plain_names_in_one_folder_still_opens()
    {
        string flat = Path.Combine(_chain, "d-flat.vmdk");
        Sh($"qemu-img create -q -f raw '{flat}' 64K && printf 'hello' | dd of='{flat}' conv=notrunc status=none", _chain);
        string d = FlatDescriptor("d.vmdk", "d-flat.vmdk", sectors: 128);
        string output = Path.Combine(_dir, "out.img");
        var r = Cli("export", d, output, "--confine", _chain);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(Hashing.Sha256File(flat), Hashing.Sha256File(output));
    }

    [Fact]
    public void Every_disk_opening_command_takes_the_chain_file_options()
    {
        var root = VmdkMount.Cli.Program.BuildRoot();
        string[] diskCommands = ["info", "check", "map", "export", "volumes", "ls", "cat", "extract", "mount"];
        foreach (var name in diskCommands)
        {
            var command = root.Subcommands.Single(c => c.Name == name);
            Assert.Contains(command.Options, o => o.Name == "--confine");
            Assert.Contains(command.Options, o => o.Name == "--allow-outside-extents");
        }
    }
}
