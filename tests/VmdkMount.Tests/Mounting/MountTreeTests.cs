using System.Text;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;
using VmdkMount.Tests.Fuse;
using VmdkMount.Tests.Infrastructure;
using Xunit;

namespace VmdkMount.Tests.Mounting;

/// <summary>
/// The frontend-neutral mount model against an in-memory filesystem and disk: no root, no /dev/fuse, no kernel.
/// What FUSE (and a later Dokan frontend) does is translate these answers.
/// </summary>
public class MountTreeTests
{
    private static readonly byte[] DiskBytes = MakeDisk();

    private static byte[] MakeDisk()
    {
        var b = new byte[1 << 20];
        for (int i = 0; i < 4096; i++) b[65536 + i] = (byte)(i * 7);
        return b;
    }

    private sealed record Built(MountTree Tree, MemoryFileSystem Fs, Dictionary<string, long> Ids);

    private static Built Build(MountTreeOptions? options = null)
    {
        var fs = new MemoryFileSystem("ntfs");
        var ids = new Dictionary<string, long>();
        long docs = ids["docs"] = fs.AddDir(fs.RootId, "docs");
        long deep = ids["deep"] = fs.AddDir(docs, "deep");
        ids["a.txt"] = fs.AddFile(docs, "a.txt", Encoding.ASCII.GetBytes("alpha\n"));
        fs.AddHardLink(deep, "a-again.txt", ids["a.txt"]);
        ids["link"] = fs.AddSymlink(docs, "up", "../../../../etc/passwd");
        fs.AddHardLink(deep, "up2", ids["link"]);
        fs.AddSymlink(fs.RootId, "abs", "/docs/a.txt");
        ids["broken"] = fs.AddFile(fs.RootId, "broken.bin", new byte[100], broken: true);
        fs.AddStream(ids["a.txt"], "Zone.Identifier", Encoding.ASCII.GetBytes("[ZoneTransfer]\n"));
        var disk = new MemoryDisk(DiskBytes, [new AllocatedRange(65536, 4096), new AllocatedRange(512 * 1024, 65536)]);
        var volume = new Volume { Id = "p1", Offset = 0, Size = DiskBytes.Length, Scheme = "mbr", FileSystem = "ntfs", Mountable = true, Data = new SubRange(disk, 0, 1) };
        var broken = new Volume { Id = "p2", Offset = 0, Size = 4096, Scheme = "mbr", FileSystem = "ext4", Mountable = true, Data = new SubRange(disk, 0, 1) };
        var tree = new MountTree(disk, [volume, broken],
            v => v.Id == "p1" ? fs : throw new CorruptDataException("p2 superblock", 1024, "bad magic"),
            options ?? new MountTreeOptions { RawImage = true });
        return new Built(tree, fs, ids);
    }

    [Fact]
    public void The_root_holds_one_folder_per_volume_an_unreadable_volume_and_disk_img()
    {
        var b = Build();
        var names = b.Tree.List(b.Tree.Root).Select(e => e.Name).ToList();
        Assert.Equal(["p1", "p2", MountTree.DiskImageName], names);
        var p2 = b.Tree.Lookup(b.Tree.Root, "p2")!;
        Assert.Equal(MountNodeKind.UnreadableVolume, p2.Kind);
        Assert.True(p2.IsDirectory);
        var e = Assert.Throws<FileReadException>(() => b.Tree.List(p2));
        Assert.Contains("bad magic", e.Message);
        Assert.Equal(MountErrorKind.Unsupported, MountErrors.Classify(e));
        Assert.Null(b.Tree.Lookup(b.Tree.Root, "P1")); // the root's names are exact
    }

    [Fact]
    public void An_unreadable_volume_opens_on_a_use_after_its_retry_interval_under_the_same_inode()
    {
        var fs = new MemoryFileSystem("ext4");
        fs.AddFile(fs.RootId, "back.txt", Encoding.ASCII.GetBytes("here\n"));
        bool available = false;
        int opens = 0;
        var disk = new MemoryDisk(DiskBytes, []);
        var volume = new Volume { Id = "p1", Offset = 0, Size = DiskBytes.Length, Scheme = "mbr", FileSystem = "ext4", Mountable = true, Data = new SubRange(disk, 0, 1) };
        var interval = TimeSpan.FromMilliseconds(300);
        var tree = new MountTree(disk, [volume],
            _ => { opens++; return available ? fs : throw new SourceUnavailableException("chain-00005.vmdk", "No such file or directory"); },
            new MountTreeOptions { UnreadableRetryInterval = interval });
        var folder = tree.Lookup(tree.Root, "p1")!;
        Assert.Equal(MountNodeKind.UnreadableVolume, folder.Kind);
        Assert.Throws<FileReadException>(() => tree.List(folder));
        Assert.Equal(1, opens); // the first failure is not retried at once
        available = true;
        Assert.Throws<FileReadException>(() => tree.List(folder)); // within the interval: no new open
        Assert.Equal(1, opens);
        Thread.Sleep(interval + TimeSpan.FromMilliseconds(100));
        var entries = tree.List(folder); // the kernel still holds the old node: it answers as the volume now
        Assert.Equal(["back.txt"], entries.Select(e => e.Name));
        Assert.Equal(2, opens);
        var now = tree.Lookup(tree.Root, "p1")!;
        Assert.Equal(MountNodeKind.FsNode, now.Kind);
        Assert.Equal(folder.Ino, now.Ino);
        Assert.True(tree.TryGet(folder.Ino, out var byIno) && byIno == now);
        Assert.Equal(["p1"], tree.List(tree.Root).Select(e => e.Name));
        Assert.Same(now, tree.List(tree.Root)[0].Inode);
        Assert.Equal("here\n", ReadAll(tree, tree.Resolve("/p1/back.txt")!));
        Assert.Equal(2, opens); // opened once, kept
    }

    [Fact]
    public void Hard_links_share_one_node_and_a_symlink_is_one_node_per_place()
    {
        var b = Build();
        var a = b.Tree.Resolve("/p1/docs/a.txt")!;
        var again = b.Tree.Resolve("/p1/docs/deep/a-again.txt")!;
        Assert.Same(a, again);
        var up = b.Tree.Resolve("/p1/docs/up")!;
        var up2 = b.Tree.Resolve("/p1/docs/deep/up2")!;
        Assert.NotSame(up, up2);
        Assert.NotEqual(up.Ino, up2.Ino);
        Assert.Equal(up.Node!.Id, up2.Node!.Id);
        // Each place answers for itself, and neither climbs above the volume root.
        Assert.Equal("../etc/passwd", b.Tree.LinkTarget(up, "/mnt/x"));
        Assert.Equal("../../etc/passwd", b.Tree.LinkTarget(up2, "/mnt/x"));
        Assert.Equal("/mnt/x/p1/docs/a.txt", b.Tree.LinkTarget(b.Tree.Resolve("/p1/abs")!, "/mnt/x"));
        Assert.Throws<ContractViolationException>(() => b.Tree.LinkTarget(a, "/mnt/x"));
    }

    [Fact]
    public void Paths_resolve_over_the_tree_without_following_links_and_dotdot_stops_at_the_root()
    {
        var b = Build();
        Assert.Same(b.Tree.Root, b.Tree.Resolve("/"));
        Assert.Same(b.Tree.Root, b.Tree.Resolve("/../../.."));
        Assert.Equal("a.txt", b.Tree.Resolve("/p1/docs/deep/../a.txt")!.Name);
        Assert.Equal(FsNodeType.Symlink, b.Tree.Resolve("/p1/abs")!.Node!.Type);
        Assert.Null(b.Tree.Resolve("/p1/abs/anything")); // a link is not walked through
        Assert.Null(b.Tree.Resolve("/p1/docs/a.txt/x"));
        Assert.Null(b.Tree.Resolve("/p1/nothing"));
        Assert.Equal("p1:/docs/a.txt", b.Tree.DisplayPath(b.Tree.Resolve("/p1/docs/deep/a-again.txt")!)); // first name seen
    }

    [Fact]
    public void Following_links_stays_inside_the_links_volume_and_gives_up_after_forty()
    {
        var b = Build();
        var fs = b.Fs;
        fs.AddSymlink(fs.RootId, "loop1", "loop2");
        fs.AddSymlink(fs.RootId, "loop2", "loop1");
        fs.AddSymlink(b.Ids["deep"], "escape", "../../../../../../docs/a.txt"); // climbs far above p1's root
        Assert.Equal("alpha\n", ReadAll(b.Tree, b.Tree.ResolveFollowingLinks("/p1/abs", followLast: true, "p1:/abs")));
        Assert.Equal(FsNodeType.Symlink, b.Tree.ResolveFollowingLinks("/p1/abs", followLast: false, "p1:/abs").Node!.Type);
        // `..` in a target stops at the volume root: this lands on p1:/docs/a.txt, not above the volume.
        Assert.Equal("alpha\n", ReadAll(b.Tree, b.Tree.ResolveFollowingLinks("/p1/docs/deep/escape", followLast: true, "x")));
        // Through a link in the middle of a path.
        fs.AddSymlink(fs.RootId, "docs-link", "docs");
        Assert.Equal("alpha\n", ReadAll(b.Tree, b.Tree.ResolveFollowingLinks("/p1/docs-link/a.txt", followLast: true, "x")));
        var e = Assert.Throws<PathNotFoundException>(() => b.Tree.ResolveFollowingLinks("/p1/loop1", followLast: true, "p1:/loop1"));
        Assert.Contains("too many levels of symbolic links", e.Message);
        Assert.Throws<PathNotFoundException>(() => b.Tree.ResolveFollowingLinks("/p1/nothing", followLast: true, "p1:/nothing"));
    }

    [Fact]
    public void A_single_volume_tree_has_that_volume_at_its_root()
    {
        var b = Build(new MountTreeOptions { SingleVolume = "p1" });
        Assert.Equal("alpha\n", ReadAll(b.Tree, b.Tree.Resolve("/docs/a.txt")!));
        Assert.Equal("/mnt/x/docs/a.txt", b.Tree.LinkTarget(b.Tree.Resolve("/abs")!, "/mnt/x"));
        Assert.Throws<SourceUnavailableException>(() => Build(new MountTreeOptions { SingleVolume = "p9" }));
        Assert.Throws<CorruptDataException>(() => Build(new MountTreeOptions { SingleVolume = "p2" })); // a damaged single volume fails the mount
    }

    [Fact]
    public void Reads_lengths_and_seeks_of_files_and_disk_img()
    {
        var b = Build();
        var a = b.Tree.Resolve("/p1/docs/a.txt")!;
        Assert.Equal(6, b.Tree.LengthOf(a));
        Assert.Equal("alpha\n", ReadAll(b.Tree, a));
        var buf = new byte[10];
        Assert.Equal(3, b.Tree.Read(a, 3, buf));
        Assert.Equal(0, b.Tree.LengthOf(b.Tree.Resolve("/p1/docs")!));
        Assert.Throws<ContractViolationException>(() => b.Tree.Read(b.Tree.Resolve("/p1/docs")!, 0, buf));

        var image = b.Tree.Resolve("/disk.img")!;
        Assert.Equal(MountNodeKind.DiskImage, image.Kind);
        Assert.Equal(DiskBytes.Length, b.Tree.LengthOf(image));
        var chunk = new byte[4096];
        Assert.Equal(4096, b.Tree.Read(image, 65536, chunk));
        Assert.Equal(DiskBytes.AsSpan(65536, 4096).ToArray(), chunk);
        // SEEK_DATA / SEEK_HOLE follow the disk's allocation map; past the end there is nothing (ENXIO).
        Assert.Equal(65536, b.Tree.NextData(image, 0));
        Assert.Equal(65536 + 4096, b.Tree.NextHole(image, 65536));
        Assert.Equal(0, b.Tree.NextHole(image, 0));
        Assert.Equal(512 * 1024, b.Tree.NextData(image, 70000));
        Assert.Equal(512 * 1024 + 65536, b.Tree.NextHole(image, 512 * 1024 + 10));
        Assert.Equal(-1, b.Tree.NextData(image, 600 * 1024));
        Assert.Equal(600 * 1024, b.Tree.NextHole(image, 600 * 1024)); // already in a hole
        Assert.Equal(-1, b.Tree.NextData(image, DiskBytes.Length));
        // A file is all data up to its size.
        Assert.Equal(2, b.Tree.NextData(a, 2));
        Assert.Equal(6, b.Tree.NextHole(a, 2));
        Assert.Equal(-1, b.Tree.NextHole(a, 6));
    }

    [Fact]
    public void Streams_are_found_by_exact_name_first_then_ignoring_case()
    {
        var b = Build();
        var a = b.Tree.Resolve("/p1/docs/a.txt")!;
        Assert.Equal(["Zone.Identifier"], b.Tree.Streams(a).Select(s => s.Name));
        var s = b.Tree.FindStream(a, "zone.identifier")!.Value;
        Assert.Equal("Zone.Identifier", s.Name);
        var buf = new byte[s.Size];
        Assert.Equal(buf.Length, b.Tree.ReadStream(a, s, 0, buf));
        Assert.Equal("[ZoneTransfer]\n", Encoding.ASCII.GetString(buf));
        Assert.Null(b.Tree.FindStream(a, "other"));
        Assert.Empty(b.Tree.Streams(b.Tree.Resolve("/disk.img")!));
    }

    [Fact]
    public void Damage_is_classified_once_for_every_frontend()
    {
        var b = Build();
        var broken = b.Tree.Resolve("/p1/broken.bin")!;
        var e = Assert.Throws<CorruptDataException>(() => b.Tree.Read(broken, 0, new byte[10]));
        Assert.Equal(MountErrorKind.Corrupt, MountErrors.Classify(e));
        Assert.Contains("damaged run", MountErrors.Describe(e, "read", "p1:/broken.bin"));
        Assert.Null(MountErrors.Describe(new PathNotFoundException("p1:/x"), "lookup", "p1:/x"));
        Assert.Equal(MountErrorKind.NotInBackup, MountErrors.Classify(new SourceUnavailableException("x.vmdk", "missing")));
        Assert.Equal(MountErrorKind.Io, MountErrors.Classify(new IOException("disk gone")));
        Assert.Equal(MountErrorKind.Internal, MountErrors.Classify(new NullReferenceException()));
        Assert.Contains("internal error NullReferenceException", MountErrors.Describe(new NullReferenceException(), "read", null));
    }

    [Fact]
    public void Lookup_counting_lets_nodes_go_and_keep_all_does_not()
    {
        var counted = Build();
        var a = counted.Tree.Resolve("/p1/docs/a.txt")!;
        counted.Tree.Referenced(a);
        counted.Tree.Referenced(a);
        int known = counted.Tree.Count;
        counted.Tree.Forget(a.Ino, 1);
        Assert.True(counted.Tree.TryGet(a.Ino, out _));
        counted.Tree.Forget(a.Ino, 1);
        Assert.False(counted.Tree.TryGet(a.Ino, out _));
        Assert.Equal(known - 1, counted.Tree.Count);
        var anew = counted.Tree.Resolve("/p1/docs/a.txt")!;
        Assert.NotEqual(a.Ino, anew.Ino); // made anew, and reads as before
        Assert.Equal("alpha\n", ReadAll(counted.Tree, anew));
        // Pinned nodes (root, volume folders, disk.img) never go.
        var p1 = counted.Tree.Resolve("/p1")!;
        counted.Tree.Forget(p1.Ino, 100);
        Assert.True(counted.Tree.TryGet(p1.Ino, out _));

        var kept = Build(new MountTreeOptions { Retention = NodeRetention.KeepAll });
        var k = kept.Tree.Resolve("/p1/docs/a.txt")!;
        kept.Tree.Referenced(k);
        kept.Tree.Forget(k.Ino, 5);
        Assert.True(kept.Tree.TryGet(k.Ino, out _));
        Assert.Same(k, kept.Tree.Resolve("/p1/docs/a.txt"));
    }

    [Fact]
    public void Listing_a_folder_reads_its_subfolders_listings_ahead_one_level_deep_and_only_once()
    {
        var b = Build();
        var p1 = b.Tree.Resolve("/p1")!;
        b.Tree.List(p1);
        b.Tree.PrefetchChildListings(p1);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (b.Fs.ListingsOf(b.Ids["docs"]) == 0 && DateTime.UtcNow < deadline) Thread.Sleep(5);
        Assert.Equal(1, b.Fs.ListingsOf(b.Ids["docs"]));
        // The walker's own listing is the one read ahead, not a second read.
        var docs = b.Tree.Lookup(p1, "docs")!;
        Assert.Equal(["a.txt", "deep", "up"], b.Tree.List(docs).Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.Equal(1, b.Fs.ListingsOf(b.Ids["docs"]));
        Assert.Equal(0, b.Fs.ListingsOf(b.Ids["deep"]));
        // Asking again for a folder whose subfolders are all listed queues nothing.
        b.Tree.PrefetchChildListings(p1);
        Thread.Sleep(100);
        Assert.Equal(1, b.Fs.ListingsOf(b.Ids["docs"]));
    }

    [Fact]
    public void A_walker_that_lets_go_of_what_it_passed_gets_no_listings_read_ahead()
    {
        var b = Build(new MountTreeOptions { Retention = NodeRetention.UntilPassed });
        var p1 = b.Tree.Resolve("/p1")!;
        b.Tree.List(p1);
        b.Tree.PrefetchChildListings(p1);
        Thread.Sleep(300);
        Assert.Equal(0, b.Fs.ListingsOf(b.Ids["docs"]));
    }

    [Fact]
    public void A_walker_that_passes_folders_keeps_only_its_own_stack_of_nodes()
    {
        var fs = new MemoryFileSystem("ext4");
        long shared = 0;
        for (int d = 0; d < 50; d++)
        {
            long dir = fs.AddDir(fs.RootId, $"d{d:D2}");
            for (int f = 0; f < 100; f++)
            {
                long id = fs.AddFile(dir, $"f{f:D3}", Encoding.ASCII.GetBytes($"{d}/{f}\n"));
                if (d == 0 && f == 0) shared = id;
            }
            if (d > 0) fs.AddHardLink(dir, "same", shared);
        }
        var tree = SingleVolumeTree.Of(fs, NodeRetention.UntilPassed);
        int files = 0, most = 0;
        var pending = new Stack<MountInode>();
        pending.Push(tree.Root);
        while (pending.Count > 0)
        {
            var node = pending.Pop();
            if (!node.IsDirectory)
            {
                files++;
                Assert.Equal(tree.LengthOf(node), tree.Read(node, 0, new byte[64]));
                continue;
            }
            foreach (var (_, child) in tree.List(node)) pending.Push(child);
            most = Math.Max(most, tree.Count);
            tree.Passed(node);
        }
        Assert.Equal(50 * 100 + 49, files);
        // One folder's children at a time (plus the root), never the 5,000 files: with KeepAll all of them stay.
        Assert.True(most <= 110, $"{most} nodes known at once");
        Assert.True(tree.Count <= 2, $"{tree.Count} nodes left after the walk");
        // A passed folder is made anew on the next lookup, and reads as before.
        var again = tree.Resolve("/d17/f003")!;
        Assert.Equal(5, tree.Read(again, 0, new byte[16]));

        var kept = SingleVolumeTree.Of(fs, NodeRetention.KeepAll);
        foreach (var (_, dir) in kept.List(kept.Root))
        {
            kept.List(dir);
            kept.Passed(dir);
        }
        Assert.True(kept.Count > 5000, $"{kept.Count} nodes kept");
    }

    [Fact]
    public void Many_threads_resolving_the_same_names_get_the_same_nodes()
    {
        var b = Build();
        var results = new MountInode[16];
        Parallel.For(0, results.Length, i => results[i] = b.Tree.Resolve(i % 2 == 0 ? "/p1/docs/a.txt" : "/p1/docs/deep/a-again.txt")!);
        Assert.All(results, r => Assert.Same(results[0], r));
    }

    private static string ReadAll(MountTree tree, MountInode inode)
    {
        var buf = new byte[tree.LengthOf(inode)];
        Assert.Equal(buf.Length, tree.Read(inode, 0, buf));
        return Encoding.ASCII.GetString(buf);
    }
}
