using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Fuse;

/// <summary>
/// The adapter and binding over in-memory filesystems, mounted for real in this process and inspected with the
/// host's own tools (find, stat, readlink, getfattr, sha256sum, cp) and lseek(2).
/// </summary>
public class AdapterMountTests
{
    private static readonly byte[] Big = RandomBytes(3 * 1024 * 1024 + 17, 1);

    private static byte[] RandomBytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static (MemoryFileSystem Win, MemoryFileSystem Unix) Build()
    {
        var win = new MemoryFileSystem("ntfs");
        long docs = win.AddDir(win.RootId, "Documents");
        long big = win.AddFile(docs, "big.bin", Big);
        win.AddFile(docs, "readonly.txt", "keep me\n"u8.ToArray(), FsAttributes.ReadOnly);
        win.AddFile(docs, "broken.bin", new byte[10000], broken: true);
        win.AddFile(docs, "ünïcødé name.txt", "u\n"u8.ToArray());
        win.AddStream(big, "Zone.Identifier", "[ZoneTransfer]\r\nZoneId=3\r\n"u8.ToArray());
        win.AddSymlink(win.RootId, "Docs link", "/Documents");
        win.AddSymlink(docs, "up", "../Documents/readonly.txt");
        win.AddHardLink(win.RootId, "big hard link", big);
        long many = win.AddDir(win.RootId, "many");
        for (int i = 0; i < 3000; i++) win.AddFile(many, $"file-{i:D5}-with-a-longish-name.txt", Encoding.ASCII.GetBytes($"content {i}\n"));

        var unix = new MemoryFileSystem("ext4", unixOwners: true);
        long home = unix.AddDir(unix.RootId, "home");
        unix.AddFile(home, "notes.txt", "hello\n"u8.ToArray());
        unix.AddFile(home, "\uFFFD", "replacement character\n"u8.ToArray());
        return (win, unix);
    }

    private static MountTree Tree(bool raw = false, string? single = null)
    {
        var (win, unix) = Build();
        var diskBytes = RandomBytes(8 * 1024 * 1024, 2);
        Array.Clear(diskBytes, 1 << 20, 3 << 20); // 1-4 MiB: a hole
        Array.Clear(diskBytes, 6 << 20, 2 << 20); // 6-8 MiB: a hole at the end
        var disk = new MemoryDisk(diskBytes, [new AllocatedRange(0, 1 << 20), new AllocatedRange(4 << 20, 2 << 20)]);
        Volume Vol(string id, string fs) => new()
        {
            Id = id, Offset = 0, Size = 1 << 20, Scheme = "mbr", FileSystem = fs, Mountable = true, Data = new SubRange(disk, 0, 1),
        };
        var volumes = new List<Volume>
        {
            Vol("p1", "ntfs"), Vol("p2", "ext4"),
            new() { Id = "p3", Offset = 0, Size = 1, Scheme = "mbr", FileSystem = "refs", Mountable = false, Reason = "ReFS", Data = new SubRange(disk, 0, 1) },
        };
        return new MountTree(disk, volumes, v => v.Id == "p1" ? win : unix, new MountTreeOptions { RawImage = raw, SingleVolume = single });
    }

    private static string Sh(string script) => Tool.Bash(script).StdOut;

    private const int SeekData = 3;
    private const int SeekHole = 4;

    [DllImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static extern long Lseek(int fd, long offset, int whence);

    [Fact]
    public void A_name_that_is_not_utf8_names_nothing_not_the_file_its_replacement_character_spells()
    {
        using var m = new InProcessMount(Tree());
        string home = Path.Combine(m.Path_, "p2", "home");
        Assert.Equal("replacement character\n", Sh($"cat '{home}/'$'\\xef\\xbf\\xbd'"));
        var r = Tool.Bash($"cat '{home}/'$'\\xff' 2>&1", allowFailure: true);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("No such file", r.StdOut);
    }

    [Fact]
    public void Root_has_one_folder_per_mountable_volume_and_disk_img_with_raw()
    {
        using var m = new InProcessMount(Tree(raw: true));
        var names = Directory.EnumerateFileSystemEntries(m.Path_).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["disk.img", "p1", "p2"], names);
        Assert.Equal("disk.img 8388608\n", Sh($"cd '{m.Path_}' && stat -c '%n %s' disk.img"));
    }

    [Fact]
    public void Files_read_back_byte_exact_through_the_kernel_with_modes_owners_links_and_streams()
    {
        using var m = new InProcessMount(Tree(), uid: 4242, gid: 4343);
        string p1 = Path.Combine(m.Path_, "p1");
        Assert.Equal(Convert.ToHexString(SHA256.HashData(Big)).ToLowerInvariant(),
            Sh($"sha256sum '{p1}/Documents/big.bin'").Split(' ')[0]);
        Assert.Equal("keep me\n", File.ReadAllText(Path.Combine(p1, "Documents", "readonly.txt")));
        // NTFS-like: modes from the read-only attribute, owner from --uid/--gid; ext-like: its own.
        Assert.Equal("444 4242 4343 8\n", Sh($"stat -c '%a %u %g %s' '{p1}/Documents/readonly.txt'"));
        Assert.Equal("644 2\n", Sh($"stat -c '%a %h' '{p1}/Documents/big.bin'"));
        Assert.Equal("755 directory\n", Sh($"stat -c '%a %F' '{p1}/Documents'"));
        Assert.Equal("640 1234 2345 regular file\n", Sh($"stat -c '%a %u %g %F' '{m.Path_}/p2/home/notes.txt'"));
        Assert.Equal("700\n", Sh($"stat -c '%a' '{m.Path_}/p2/home'"));
        // Hard links are one inode.
        Assert.Equal(Sh($"stat -c '%i' '{p1}/Documents/big.bin'"), Sh($"stat -c '%i' '{p1}/big hard link'"));
        // mtime with nanoseconds.
        Assert.Matches(@"^\d+\.1234567\d\d\n$", Sh($"stat -c '%.9Y' '{p1}/Documents/readonly.txt'"));
        // Symlinks: volume-absolute targets point inside the mount; relative ones stay; both resolve.
        Assert.Equal($"{m.Path_}/p1/Documents\n", Sh($"readlink '{p1}/Docs link'"));
        Assert.Equal("../Documents/readonly.txt\n", Sh($"readlink '{p1}/Documents/up'"));
        Assert.Equal("keep me\n", Sh($"cat '{p1}/Docs link/up'"));
        Assert.Equal($"{$"{m.Path_}/p1/Documents".Length}\n", Sh($"stat -c '%s' '{p1}/Docs link'"));
        // Alternate data streams as user.* xattrs.
        string attrs = Sh($"getfattr -d --absolute-names '{p1}/Documents/big.bin'");
        Assert.Contains("user.Zone.Identifier=", attrs);
        Assert.Equal("[ZoneTransfer]\r\nZoneId=3\r\n"u8.ToArray(),
            Tool.Run("getfattr", "--only-values", "-n", "user.Zone.Identifier", $"{p1}/Documents/big.bin").StdOutBytes);
        Assert.Equal("", Sh($"getfattr -d --absolute-names '{p1}/Documents/readonly.txt'"));
        Assert.Equal("u\n", File.ReadAllText(Path.Combine(p1, "Documents", "ünïcødé name.txt")));
    }

    [Fact]
    public void Big_directory_lists_completely_with_find_and_ls()
    {
        using var m = new InProcessMount(Tree());
        string many = Path.Combine(m.Path_, "p1", "many");
        var found = Sh($"find '{many}' -type f | sort").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3000, found.Length);
        Assert.Equal(Enumerable.Range(0, 3000).Select(i => $"{many}/file-{i:D5}-with-a-longish-name.txt"), found);
        Assert.Equal("3002\n", Sh($"ls -a '{many}' | wc -l"));
        Assert.Equal("content 2999\n", File.ReadAllText(Path.Combine(many, "file-02999-with-a-longish-name.txt")));
    }

    [Fact]
    public void A_damaged_file_fails_with_EIO_names_the_file_and_the_mount_stays_up()
    {
        using var m = new InProcessMount(Tree());
        var r = Tool.Bash($"cat '{m.Path_}/p1/Documents/broken.bin' > /dev/null", allowFailure: true);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("Input/output error", r.StdErr);
        Assert.Contains(m.Log, l => l.Contains("p1:/Documents/broken.bin") && l.Contains("damaged run"));
        Assert.Equal("keep me\n", File.ReadAllText(Path.Combine(m.Path_, "p1", "Documents", "readonly.txt")));
        Assert.True(m.LoopRunning);
    }

    [Fact]
    public void Writes_creates_renames_chmods_fail_with_EROFS()
    {
        using var m = new InProcessMount(Tree());
        string d = $"{m.Path_}/p1/Documents";
        foreach (var cmd in new[]
                 {
                     $"echo x >> '{d}/readonly.txt'", $"touch '{d}/new.txt'", $"mkdir '{d}/newdir'", $"mv '{d}/big.bin' '{d}/moved.bin'",
                     $"chmod 777 '{d}/big.bin'", $"rm '{d}/big.bin'", $"ln -s x '{d}/l'", $"setfattr -n user.x -v 1 '{d}/big.bin'",
                     $"truncate -s 0 '{d}/big.bin'", $"touch -d 2001-01-01 '{d}/big.bin'",
                 })
        {
            var r = Tool.Bash(cmd, allowFailure: true);
            Assert.True(r.ExitCode != 0 && r.StdErr.Contains("Read-only file system"), $"{cmd}: {r.ExitCode} {r.StdErr}");
        }
        Assert.Contains(" ro,", " " + Sh($"findmnt -n -o OPTIONS '{m.Path_}'"));
    }

    [Fact]
    public void Disk_img_reports_holes_with_SEEK_DATA_and_SEEK_HOLE()
    {
        using var m = new InProcessMount(Tree(raw: true));
        using var handle = File.OpenHandle(Path.Combine(m.Path_, "disk.img"));
        int fd = (int)handle.DangerousGetHandle();
        var results = new List<string>();
        foreach (long off in new long[] { 0, 1 << 20, 5 << 20, (6 << 20) + 5 })
            foreach (int whence in new[] { SeekData, SeekHole })
            {
                long r = Lseek(fd, off, whence);
                results.Add(r >= 0 ? r.ToString() : Marshal.GetLastPInvokeError() == 6 ? "ENXIO" : "errno " + Marshal.GetLastPInvokeError());
            }
        Assert.Equal($"0 {1 << 20} {4 << 20} {1 << 20} {5 << 20} {6 << 20} ENXIO {(6 << 20) + 5}", string.Join(' ', results));
        // cp --sparse copies it with holes; the bytes are the disk's.
        string copy = Path.Combine(Path.GetDirectoryName(m.Path_)!, "copy.img");
        Sh($"cp --sparse=always '{m.Path_}/disk.img' '{copy}'");
        Assert.Equal(Sh($"sha256sum < '{m.Path_}/disk.img'"), Sh($"sha256sum < '{copy}'"));
    }

    [Fact]
    public void One_volume_at_the_mount_root_with_volume_option()
    {
        using var m = new InProcessMount(Tree(single: "p1"));
        Assert.True(File.Exists(Path.Combine(m.Path_, "Documents", "readonly.txt")));
        Assert.Equal($"{m.Path_}/Documents\n", Sh($"readlink '{m.Path_}/Docs link'"));
        // st_ino is the filesystem's own node id with one volume.
        Assert.Equal("5\n", Sh($"stat -c '%i' '{m.Path_}'"));
    }

    [Fact]
    public void Sixteen_concurrent_readers_see_the_same_bytes_as_one()
    {
        using var m = new InProcessMount(Tree());
        string many = Path.Combine(m.Path_, "p1");
        string one = Sh($"cd '{many}' && find . -type f ! -name broken.bin -print0 | sort -z | xargs -0 sha256sum");
        string sixteen = Sh($"cd '{many}' && find . -type f ! -name broken.bin -print0 | sort -z | xargs -0 -n 20 -P16 sha256sum | sort -k2");
        Assert.Equal(one.Split('\n').OrderBy(l => l.Length > 66 ? l[66..] : l, StringComparer.Ordinal),
            sixteen.Split('\n').OrderBy(l => l.Length > 66 ? l[66..] : l, StringComparer.Ordinal));
    }
}
