using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Safety;

/// <summary>The one open of every chain file: regular files only, never a kernel filesystem, never blocking.</summary>
public sealed class RegularFileOpenerTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("regular-open");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_regular_file_opens_with_its_real_path_and_length()
    {
        string target = Path.Combine(_dir, "a.bin");
        File.WriteAllBytes(target, new byte[1234]);
        string link = Path.Combine(_dir, "link.bin");
        File.CreateSymbolicLink(link, "a.bin");
        var opened = RegularFileOpener.Open(link, _dir);
        using (opened.Handle)
        {
            Assert.Equal(target, opened.RealPath);
            Assert.Equal(1234, opened.Length);
            Assert.Equal(1234, RandomAccess.Read(opened.Handle, new byte[2000], 0));
        }
        using var again = RegularFileOpener.Reopen(opened);
    }

    [Theory]
    [InlineData("/proc/self/status", "/proc")]
    [InlineData("/proc/self/root/etc/passwd", "/proc")]
    [InlineData("/sys/kernel/uevent_seqnum", "/sys")]
    [InlineData("//dev/null", "/dev")]
    [InlineData("/dev/../dev/./null", "/dev")]
    [InlineData("/dev/fd/0", "/dev")]
    public void Kernel_paths_are_refused_however_spelled(string path, string root)
    {
        var e = Assert.Throws<SourceUnavailableException>(() => RegularFileOpener.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(root, e.Message);
    }

    [Theory]
    [InlineData("/proc/self/status")]
    [InlineData("/sys/kernel/uevent_seqnum")]
    [InlineData("/dev/zero")]
    public void A_link_into_a_kernel_filesystem_is_refused(string target)
    {
        string link = Path.Combine(_dir, "innocent.vmdk");
        File.CreateSymbolicLink(link, target);
        var e = Assert.Throws<SourceUnavailableException>(() => RegularFileOpener.Open(link));
        Assert.Contains(link, e.Message);
        Assert.Contains("refused", e.Message);
    }

    [Fact]
    public void A_regular_file_on_dev_shm_is_refused_through_a_link()
    {
        if (!Directory.Exists("/dev/shm")) return;
        string shm = $"/dev/shm/vmdkmount-test-{Guid.NewGuid():N}";
        File.WriteAllBytes(shm, new byte[512]);
        try
        {
            string link = Path.Combine(_dir, "shm.vmdk");
            File.CreateSymbolicLink(link, shm);
            var e = Assert.Throws<SourceUnavailableException>(() => RegularFileOpener.Open(link));
            Assert.Contains("inside /dev", e.Message);
        }
        finally
        {
            File.Delete(shm);
        }
    }

    [Fact]
    public async Task A_fifo_is_refused_without_blocking()
    {
        string fifo = Path.Combine(_dir, "pipe.vmdk");
        Tool.Run("mkfifo", fifo);
        var work = Task.Run(() => Assert.Throws<SourceUnavailableException>(() => RegularFileOpener.Open(fifo)));
        var e = await work.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("FIFO", e.Message);
        Assert.Contains(fifo, e.Message);
    }

    [Fact]
    public void A_folder_is_refused()
    {
        var e = Assert.Throws<SourceUnavailableException>(() => RegularFileOpener.Open(_dir));
        Assert.Contains("a folder", e.Message);
    }

    [Fact]
    public void Confinement_is_a_prefix_with_a_trailing_separator()
    {
        string sibling = _dir + "-sibling";
        Directory.CreateDirectory(sibling);
        try
        {
            File.WriteAllBytes(Path.Combine(sibling, "x.vmdk"), new byte[16]);
            var e = Assert.Throws<SourceUnavailableException>(() => RegularFileOpener.Open(Path.Combine(sibling, "x.vmdk"), _dir));
            Assert.Contains("outside the --confine folder", e.Message);
            Assert.True(RegularFileOpener.IsUnder("/a/b/c", "/a/b"));
            Assert.False(RegularFileOpener.IsUnder("/a/bc", "/a/b"));
            Assert.False(RegularFileOpener.IsUnder("/a/b", "/a/b"));
            Assert.True(RegularFileOpener.IsUnder("/a", "/"));
        }
        finally
        {
            Directory.Delete(sibling, recursive: true);
        }
    }

    [Fact]
    public void A_file_replaced_between_opens_is_refused_on_reopen()
    {
        string p = Path.Combine(_dir, "swap.vmdk");
        File.WriteAllBytes(p, new byte[16]);
        var first = RegularFileOpener.Open(p);
        first.Handle.Dispose();
        // Made while the first still exists, so it cannot reuse its inode number.
        string replacement = Path.Combine(_dir, "replacement");
        File.WriteAllBytes(replacement, new byte[16]);
        File.Move(replacement, p, overwrite: true);
        var e = Assert.Throws<SourceUnavailableException>(() => RegularFileOpener.Reopen(first));
        Assert.Contains("replaced", e.Message);
    }

    /// <summary>
    /// A kernel filesystem mounted somewhere innocent: neither the name nor the real path says /proc or /dev, so only
    /// the descriptor's filesystem magic (procfs) or device number (the /dev/shm mount) can tell. Needs mount rights.
    /// </summary>
    [Theory]
    [InlineData("-t proc proc", "self/status", "procfs")]
    [InlineData("--bind /dev/shm", null, "kernel filesystem")]
    public void A_kernel_filesystem_mounted_elsewhere_is_refused_by_the_descriptor(string mountArgs, string? file, string why)
    {
        string mnt = Path.Combine(_dir, "mnt");
        Directory.CreateDirectory(mnt);
        if (Tool.Bash($"mount {mountArgs} '{mnt}'", allowFailure: true).ExitCode != 0) return; // no mount rights here
        string? made = null;
        try
        {
            if (file is null)
            {
                made = $"/dev/shm/vmdkmount-test-{Guid.NewGuid():N}";
                File.WriteAllBytes(made, new byte[512]);
                file = Path.GetFileName(made);
            }
            string path = Path.Combine(mnt, file);
            var e = Assert.Throws<SourceUnavailableException>(() => RegularFileOpener.Open(path));
            Assert.Contains(path, e.Message);
            Assert.Contains(why, e.Message);
        }
        finally
        {
            Tool.Bash($"umount '{mnt}'", allowFailure: true);
            if (made is not null) File.Delete(made);
        }
    }
}
