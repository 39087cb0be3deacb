using VmdkMount.Core.Disks;
using VmdkMount.Core.Mounting;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Ntfs;

/// <summary>
/// The NTFS images inside VMDK chains made by qemu-img, read through DiskOpener, volume discovery and MountedDisk:
/// a monolithicSparse base holding basic.img, and a child holding only the clusters where dirty.img differs
/// (qcow2 rebase finds them; the child is written as a VMDK delta with -B), as a backup's incremental would.
/// </summary>
public sealed class NtfsVmdkChainTests : IDisposable
{
    private readonly string _images = TestImages.Get("ntfs-basic");
    private readonly string _scratch = RepoPaths.NewScratch("ntfs-chain");

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private string Build()
    {
        string basic = Path.Combine(_images, "basic.img"), dirty = Path.Combine(_images, "dirty.img");
        Tool.Bash($"""
            cd '{_scratch}'
            qemu-img convert -q -f raw -O vmdk -o subformat=monolithicSparse '{basic}' base.vmdk
            qemu-img convert -q -f raw -O qcow2 '{basic}' b.qcow2
            qemu-img convert -q -f raw -O qcow2 '{dirty}' d.qcow2
            qemu-img create -q -f qcow2 -b d.qcow2 -F qcow2 delta.qcow2
            qemu-img rebase -q -f qcow2 -b b.qcow2 -F qcow2 delta.qcow2
            qemu-img convert -q -f qcow2 -O vmdk -o subformat=monolithicSparse -B base.vmdk -F vmdk delta.qcow2 child.vmdk
            """);
        return Path.Combine(_scratch, "child.vmdk");
    }

    [Fact]
    public void Base_vmdk_reads_like_the_ntfs3g_mount()
    {
        Build();
        using var mounted = MountedDisk.Open(Path.Combine(_scratch, "base.vmdk"));
        var volume = Assert.Single(mounted.Layout.Volumes);
        Assert.Equal("ntfs", volume.FileSystem);
        var fs = mounted.OpenFileSystem(volume.Id);
        Assert.Empty(fs.Warnings);
        using var vol = new NtfsVolume(fs);
        NtfsOracleTests.CompareWithManifest(vol, Path.Combine(_images, "basic.manifest.json"), p => p.StartsWith("/surrogates", StringComparison.Ordinal));
    }

    [Fact]
    public void Child_link_shows_the_newer_volume_state()
    {
        string child = Build();
        long childBytes = new FileInfo(child).Length, baseBytes = new FileInfo(Path.Combine(_scratch, "base.vmdk")).Length;
        Assert.True(childBytes < baseBytes / 4, $"the child ({childBytes} bytes) should hold only the changed clusters");
        using var mounted = MountedDisk.Open(child);
        var fs = mounted.OpenFileSystem(Assert.Single(mounted.Layout.Volumes).Id);
        Assert.Contains(fs.Warnings, w => w.Contains("dirty", StringComparison.Ordinal));
        using var vol = new NtfsVolume(fs);
        NtfsOracleTests.CompareWithManifest(vol, Path.Combine(_images, "basic.manifest.json"), p => p.StartsWith("/surrogates", StringComparison.Ordinal));
    }
}
