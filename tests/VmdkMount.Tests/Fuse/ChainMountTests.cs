using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Fuse;

/// <summary>
/// `vmdkmount mount` of a real three-link chain (NTFS, ext4, FAT16 made by mkntfs/ntfs-3g, mke2fs, mkfs.fat/mtools,
/// layered by qemu-img/qemu-io), compared file by file with independent readers of the flattened chain.
/// </summary>
[Collection(KernelCacheTests.Collection)]
public class ChainMountTests(ChainMountFixture f) : IClassFixture<ChainMountFixture>
{
    private string Ours(string volume) => Path.Combine(f.MountPoint, volume);

    private static string Sh(string script) => Tool.Bash(script).StdOut;

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToArray();

    private static void SameLines(string expected, string actual, string what)
    {
        var e = Lines(expected);
        var a = Lines(actual);
        var missing = e.Except(a).Take(15).ToList();
        var extra = a.Except(e).Take(15).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"{what}: {e.Length} expected, {a.Length} actual\nmissing:\n  {string.Join("\n  ", missing)}\nextra:\n  {string.Join("\n  ", extra)}");
    }

    /// <summary>`sha256sum` of every regular file, paths relative to the root.</summary>
    private static string Hashes(string root) => Sh($"cd '{root}' && find . -type f -print0 | sort -z | xargs -0 -r sha256sum");

    [Fact]
    public void Root_shows_one_folder_per_volume()
    {
        Assert.Equal(["p1", "p2", "p3"], Directory.EnumerateFileSystemEntries(f.MountPoint).Select(p => Path.GetFileName(p)).Order().ToArray());
        Assert.Contains("mounted at " + f.MountPoint, f.Ours.Output);
    }

    [Fact]
    public void Ntfs_listing_sizes_links_times_and_hashes_match_ntfs3g()
    {
        // ntfs-3g shows its own modes and owner; names, types, sizes, link counts and 100 ns times are the volume's.
        const string format = "-printf '%y %p' \\( -type f -printf ' %s %n %T@' -o -true \\) -printf '\\n'";
        SameLines(Sh($"cd '{f.Oracle["p1"]}' && find . {format}"), Sh($"cd '{Ours("p1")}' && find . {format}"), "find p1");
        SameLines(Hashes(f.Oracle["p1"]), Hashes(Ours("p1")), "sha256 p1");
    }

    [Fact]
    public void Ntfs_streams_are_user_xattrs_like_ntfs3g()
    {
        string Dump(string root) => Sh($"cd '{root}' && getfattr -R -d . 2>/dev/null | awk '/^# file:/ {{f=$0; next}} NF {{print f \" \" $0}}'");
        string expected = Dump(f.Oracle["p1"]);
        Assert.Contains("user.Zone.Identifier=", expected);
        SameLines(expected, Dump(Ours("p1")), "getfattr p1");
    }

    [Fact]
    public void Ntfs_read_only_attribute_gives_mode_444_and_others_644()
    {
        Assert.Equal("444\n", Sh($"stat -c %a '{Ours("p1")}/Program Files/App/readonly.cfg'"));
        Assert.Equal("644\n", Sh($"stat -c %a '{Ours("p1")}/Documents/report.docx'"));
        Assert.Equal("755\n", Sh($"stat -c %a '{Ours("p1")}/Documents'"));
        Assert.Equal(Tool.Run("id", "-u").StdOut, Sh($"stat -c %u '{Ours("p1")}/Documents/report.docx'"));
    }

    [Fact]
    public void Ext_listing_modes_owners_times_links_and_link_targets_match_the_kernel()
    {
        const string format = "-printf '%y %m %U %G %n %T@ %A@ %p %l' \\( -type f -printf ' %s' -o -true \\) -printf '\\n'";
        string expected = Sh($"cd '{f.Oracle["p2"]}' && find . ! -name lost+found ! -path './lost+found/*' {format}");
        // Absolute link targets are shown inside the mount, so they resolve there.
        expected = string.Join('\n', expected.Split('\n').Select(l =>
        {
            int arrow = l.IndexOf(" /", l.IndexOf(" ./", StringComparison.Ordinal) + 1, StringComparison.Ordinal);
            return l.StartsWith("l ", StringComparison.Ordinal) && arrow > 0 ? l[..(arrow + 1)] + Ours("p2") + l[(arrow + 1)..] : l;
        }));
        SameLines(expected, Sh($"cd '{Ours("p2")}' && find . ! -name lost+found ! -path './lost+found/*' {format}"), "find p2");
        SameLines(Hashes(f.Oracle["p2"]), Hashes(Ours("p2")), "sha256 p2");
        Assert.Equal("secret=1\n", File.ReadAllText(Path.Combine(Ours("p2"), "home/bob/abs-link")));
        Assert.Equal("secret=1\n", File.ReadAllText(Path.Combine(Ours("p2"), "home/bob/rel-link")));
        Assert.Contains("ext unicode", Sh($"cat '{Ours("p2")}/home/bob/dir-link/'*"));
        Assert.Equal("bob changed in child1\n", File.ReadAllText(Path.Combine(Ours("p2"), "home/bob/a.txt")));
    }

    [Fact]
    public void Fat_names_and_hashes_match_mtools()
    {
        SameLines(Sh($"cd '{f.Oracle["p3"]}' && find . -printf '%y %p\\n'"), Sh($"cd '{Ours("p3")}' && find . -printf '%y %p\\n'"), "find p3");
        SameLines(Hashes(f.Oracle["p3"]), Hashes(Ours("p3")), "sha256 p3");
        Assert.Equal("444\n", Sh($"stat -c %a '{Ours("p3")}/SHORT.TXT'"));
    }

    [Fact]
    public void Clamscan_finds_EICAR_written_only_in_the_newest_link()
    {
        string db = Path.Combine(f.Scratch, "test.hdb");
        string md5 = Tool.Run("sigtool", "--md5", Path.Combine(f.Images, "eicar.txt")).StdOut.Trim();
        File.WriteAllText(db, string.Join(':', md5.Split(':')[..2]) + ":VmdkMount.Test.EICAR\n");
        var r = Tool.Run("clamscan", ["--no-summary", "--infected", "-d", db, "-r", f.MountPoint], allowFailure: true, timeout: TimeSpan.FromMinutes(3));
        Assert.True(r.ExitCode == 1, $"clamscan exit {r.ExitCode}: {r.StdOut}{r.StdErr}");
        Assert.Equal([$"{f.MountPoint}/p1/Users/alice/Downloads/invoice.pdf.com: VmdkMount.Test.EICAR.UNOFFICIAL FOUND"], Lines(r.StdOut));
    }

    [Fact]
    public void Sixteen_concurrent_readers_get_the_same_hashes_as_one()
    {
        Tool.Bash("sync; echo 3 > /proc/sys/vm/drop_caches");
        string list = $"cd '{f.MountPoint}' && find . -type f -print0 | sort -z";
        string parallel = Sh($"{list} | xargs -0 -n 8 -P16 sha256sum");
        string single = Sh($"{list} | xargs -0 sha256sum");
        Assert.True(Lines(single).Length > 600, $"only {Lines(single).Length} files");
        SameLines(single, parallel, "16 readers vs 1");
    }

    [Fact]
    public void Writes_creates_renames_and_chmods_fail_with_EROFS_and_sources_stay_identical()
    {
        string d = Path.Combine(Ours("p1"), "Documents");
        string e = Path.Combine(Ours("p2"), "home/bob");
        foreach (var cmd in new[]
                 {
                     $"echo x >> '{d}/report.docx'", $"touch '{d}/new.txt'", $"mkdir '{e}/newdir'", $"mv '{e}/a.txt' '{e}/b.txt'",
                     $"chmod 777 '{e}/a.txt'", $"chown 1:1 '{e}/a.txt'", $"rm -f '{d}/big.bin'", $"ln '{e}/a.txt' '{e}/c.txt'",
                     $"setfattr -n user.x -v 1 '{d}/report.docx'", $"truncate -s 0 '{Ours("p3")}/SHORT.TXT'",
                 })
        {
            var r = Tool.Bash(cmd, allowFailure: true);
            Assert.True(r.ExitCode != 0 && r.StdErr.Contains("Read-only file system"), $"{cmd}: exit {r.ExitCode} {r.StdErr}");
        }
        Assert.Equal(f.SourceHashes, Hashing.Snapshot(f.Images));
    }

    [Fact]
    public void A_mount_without_streams_says_extended_attributes_are_not_supported()
    {
        // Only the ext4 volume: nothing can carry a stream, so the kernel is told once (ENOSYS) and stops asking.
        using var ext = new CliMount(Path.Combine(f.Images, "child2.vmdk"), Path.Combine(f.Scratch, "mnt-ext"), Path.Combine(f.Scratch, "state-ext"), "--volume", "p2");
        string file = Path.Combine(ext.MountPoint, "home/bob/a.txt");
        var r = Tool.Run("getfattr", ["-n", "user.x", file], allowFailure: true);
        Assert.Contains("Operation not supported", r.StdErr);
        Assert.Equal("bob changed in child1\n", File.ReadAllText(file));
        // (Absolute link targets are rewritten into the mount, so links are compared by the other test.)
        const string list = "find . ! -type l ! -name lost+found ! -path './lost+found/*' -printf '%y %m %s %p\\n'";
        SameLines(Sh($"cd '{f.Oracle["p2"]}' && {list}"), Sh($"cd '{ext.MountPoint}' && {list}"), "find p2 alone");
        Assert.Equal(0, Tool.Bash($"ls -lR '{ext.MountPoint}' > /dev/null").ExitCode);

        // Beside an NTFS volume the same ext files answer "no such attribute", and NTFS streams stay readable.
        Assert.Contains("No such attribute", Tool.Run("getfattr", ["-n", "user.x", Path.Combine(Ours("p2"), "home/bob/a.txt")], allowFailure: true).StdErr);
    }

    /// <summary>Pages of FILE in the kernel's page cache, by the cachestat syscall (Linux 6.5+; 451 on every architecture).</summary>
    private static long CachedPages(string file) => long.Parse(Sh($$"""
        python3 - '{{file}}' <<'PY'
        import ctypes, os, sys
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(sys.argv[1], os.O_RDONLY)
        rng = (ctypes.c_uint64 * 2)(0, 0)
        st = (ctypes.c_uint64 * 5)()
        if libc.syscall(451, fd, rng, st, 0) != 0: raise OSError(ctypes.get_errno(), "cachestat")
        print(st[0])
        PY
        """).Trim());

    [Fact]
    public void Direct_io_mount_serves_large_files_past_the_page_cache_with_the_same_bytes_in_any_read_size()
    {
        using var dio = new CliMount(Path.Combine(f.Images, "child2.vmdk"), Path.Combine(f.Scratch, "mnt-dio"), Path.Combine(f.Scratch, "state-dio"), "--direct-io");
        foreach (var v in new[] { "p1", "p2", "p3" })
            SameLines(Hashes(f.Oracle[v]), Hashes(Path.Combine(dio.MountPoint, v)), $"sha256 {v} with --direct-io");

        // The largest NTFS file, read by programs that size their reads differently.
        string rel = Sh($"cd '{f.Oracle["p1"]}' && find . -type f -printf '%s %P\\n' | sort -n | tail -1 | cut -d' ' -f2-").TrimEnd('\n');
        string file = Path.Combine(dio.MountPoint, "p1", rel);
        string expected = Sh($"sha256sum < '{Path.Combine(f.Oracle["p1"], rel)}'");
        Assert.True(new FileInfo(file).Length > 1 << 20, $"{rel}: {new FileInfo(file).Length} bytes");
        Assert.Equal(expected, Sh($"dd if='{file}' bs=4k status=none | sha256sum"));
        Assert.Equal(expected, Sh($"dd if='{file}' bs=3001 status=none | sha256sum"));
        Assert.Equal(expected, Sh($"python3 -c 'import mmap,sys,hashlib; f=open(sys.argv[1],\"rb\"); m=mmap.mmap(f.fileno(),0,access=mmap.ACCESS_COPY); print(hashlib.sha256(m).hexdigest()+\"  -\")' '{file}'"));

        // Sequential runs, jumps and rereads from 8 threads on shared and own descriptors (read-ahead hits, misses
        // and drops) give the oracle's bytes.
        Assert.Equal("ok\n", Sh($$"""
            python3 - '{{file}}' '{{Path.Combine(f.Oracle["p1"], rel)}}' <<'PY'
            import os, random, sys, threading
            ours, oracle = sys.argv[1], open(sys.argv[2], "rb").read()
            shared = os.open(ours, os.O_RDONLY)
            bad = []
            def worker(seed):
                r = random.Random(seed)
                fd = shared if seed % 2 else os.open(ours, os.O_RDONLY)
                for _ in range(60):
                    pos = r.randrange(len(oracle))
                    for _ in range(r.randint(1, 6)):
                        n = r.choice([1, 4096, 65536, 1 << 20, r.randint(1, 3 << 20)])
                        if os.pread(fd, n, pos) != oracle[pos:pos + n]: bad.append((seed, pos, n))
                        pos += n if r.random() < 0.8 else -min(pos, n // 2)
                        if pos >= len(oracle): break
                if fd != shared: os.close(fd)
            ts = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
            [t.start() for t in ts]; [t.join() for t in ts]
            print("ok" if not bad else f"mismatch {bad[:5]}")
            PY
            """));

        // Readers are told to ask for 1 MiB; nothing read lands in the page cache (the cached mount keeps what it read).
        Assert.Equal("1048576\n", Sh($"stat -c %o '{file}'"));
        Assert.Equal("131072\n", Sh($"stat -c %o '{Path.Combine(Ours("p1"), rel)}'"));
        // The host reclaims page cache on its own (this VM runs DAMON pageout), so the cached mount gets three tries to
        // show that it keeps what it read; the direct-I/O mount must keep nothing after every one of them.
        long kept = 0;
        for (int attempt = 0; attempt < 3 && kept == 0; attempt++)
        {
            Sh($"cat '{file}' '{Path.Combine(Ours("p1"), rel)}' > /dev/null");
            kept = CachedPages(Path.Combine(Ours("p1"), rel));
        }
        Assert.True(kept > 0, "the cached mount kept nothing");
        Assert.Equal(0, CachedPages(file));

        // Files under 1 MiB stay in the page cache even with --direct-io.
        string small = Path.Combine(dio.MountPoint, "p2/home/bob/a.txt");
        Assert.Equal("131072\n", Sh($"stat -c %o '{small}'"));
        Assert.Equal("bob changed in child1\n", File.ReadAllText(small));
        Assert.True(CachedPages(small) > 0, "a small file was not cached");
    }
}
