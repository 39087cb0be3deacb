using VmdkMount.Tests.Fuse;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Transports;

/// <summary>`vmdkmount mount nbd://...`: files read through the kernel, and disk.img's SEEK_DATA/SEEK_HOLE from block status.</summary>
public sealed class NbdMountTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("nbd-mount");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_mounted_export_serves_files_and_disk_img_holes_like_the_local_image()
    {
        string img = Path.Combine(TestImages.Get("ext-basic"), "ext4_4k.img");
        using var server = NbdServer.Qemu(img);
        using (var mount = new CliMount(server.Uri("disk"), Path.Combine(_dir, "mnt"), Path.Combine(_dir, "state"), "--raw"))
        {
            string root = mount.MountPoint;
            Assert.Equal("hello ext\n", File.ReadAllText(Path.Combine(root, "disk", "small.txt")));
            var local = OurCli.Run("cat", img, "disk:/big.bin", "--raw-input").StdOutBytes;
            Assert.Equal(Hashing.Sha256(local), Hashing.Sha256File(Path.Combine(root, "disk", "big.bin")));
            string walk = Tool.Run("python3", "-c", """
                import os, sys
                fd = os.open(sys.argv[1], os.O_RDONLY); end = os.fstat(fd).st_size; off = 0; out = []
                while off < end and len(out) < 100000:
                    try: d = os.lseek(fd, off, os.SEEK_DATA)
                    except OSError: break
                    h = os.lseek(fd, d, os.SEEK_HOLE); out.append(f"{d}-{h}"); off = h
                print(" ".join(out))
                """, Path.Combine(root, "disk.img")).StdOut.Trim();
            var oracle = string.Join(" ", NbdRealServerTests.QemuMap(img, "raw").Select(r => $"{r.Item1}-{r.Item2}"));
            Assert.Equal(oracle, walk);
        }
    }
}
