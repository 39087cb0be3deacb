using System.Diagnostics;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Transports;

/// <summary>What the chain asks of the local store: names, identities, entry kinds, and the safe open with --confine.</summary>
public sealed class LocalSourceStoreTests : IDisposable
{
    private readonly string _dir = RepoPaths.NewScratch("local-store");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_symlink_a_hard_link_and_another_spelling_are_one_identity()
    {
        string a = Path.Combine(_dir, "a.vmdk");
        File.WriteAllText(a, "x");
        File.CreateSymbolicLink(Path.Combine(_dir, "sym.vmdk"), "a.vmdk");
        Tool.Run("ln", Path.Combine(_dir, "a.vmdk"), Path.Combine(_dir, "hard.vmdk"));
        File.WriteAllText(Path.Combine(_dir, "b.vmdk"), "x");
        var store = LocalSourceStore.Unconfined;
        var id = store.Identity(a);
        Assert.Equal(id, store.Identity(Path.Combine(_dir, "sym.vmdk")));
        Assert.Equal(id, store.Identity(Path.Combine(_dir, "hard.vmdk")));
        Assert.Equal(id, store.Identity(Path.Combine(_dir, ".", "..", Path.GetFileName(_dir), "a.vmdk")));
        Assert.NotEqual(id, store.Identity(Path.Combine(_dir, "b.vmdk")));
    }

    [Fact]
    public void Names_resolve_against_the_folder_of_another_name()
    {
        var store = LocalSourceStore.Unconfined;
        string child = Path.Combine(_dir, "sub", "child.vmdk");
        Assert.Equal(Path.Combine(_dir, "sub"), store.FolderOf(child));
        Assert.Equal(Path.Combine(_dir, "parent.vmdk"), store.Resolve(child, "../parent.vmdk"));
        Assert.Equal("/abs/p.vmdk", store.Resolve(child, "/abs/p.vmdk"));
        Assert.True(store.IsUnder(store.Resolve(child, "x-flat.vmdk"), store.FolderOf(child)));
        Assert.False(store.IsUnder(store.Resolve(child, "../x-flat.vmdk"), store.FolderOf(child)));
    }

    [Fact]
    public void A_fifo_is_a_file_to_look_at_and_is_refused_at_open_without_blocking()
    {
        string fifo = Path.Combine(_dir, "p.vmdk");
        Tool.Run("mkfifo", fifo);
        var store = LocalSourceStore.Unconfined;
        Assert.Equal(SourceEntryKind.SpecialFile, store.Kind(fifo));
        Assert.True(store.Kind(fifo).IsFile());
        Assert.Equal(SourceEntryKind.SpecialFile, store.Kind("/dev/null"));
        Assert.Equal(SourceEntryKind.Folder, store.Kind(_dir));
        Assert.Equal(SourceEntryKind.Missing, store.Kind(Path.Combine(_dir, "none.vmdk")));
        Assert.Contains(fifo, store.FilesBeside(Path.Combine(_dir, "x.vmdk")));
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<SourceUnavailableException>(() => store.Open(fifo));
        Assert.Contains("FIFO", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }

    [Fact]
    public void Kind_follows_links_and_tells_a_regular_file_from_a_special_one()
    {
        var store = LocalSourceStore.Unconfined;
        string file = Path.Combine(_dir, "disk.vmdk");
        File.WriteAllText(file, "x");
        File.CreateSymbolicLink(Path.Combine(_dir, "to-file.vmdk"), file);
        File.CreateSymbolicLink(Path.Combine(_dir, "to-dir"), _dir);
        File.CreateSymbolicLink(Path.Combine(_dir, "dangling.vmdk"), Path.Combine(_dir, "gone.vmdk"));
        File.CreateSymbolicLink(Path.Combine(_dir, "to-null.vmdk"), "/dev/null");
        Assert.Equal(SourceEntryKind.RegularFile, store.Kind(file));
        Assert.Equal(SourceEntryKind.RegularFile, store.Kind(Path.Combine(_dir, "to-file.vmdk")));
        Assert.Equal(SourceEntryKind.Folder, store.Kind(Path.Combine(_dir, "to-dir")));
        Assert.Equal(SourceEntryKind.Missing, store.Kind(Path.Combine(_dir, "dangling.vmdk")));
        Assert.Equal(SourceEntryKind.SpecialFile, store.Kind(Path.Combine(_dir, "to-null.vmdk")));
        Assert.False(SourceEntryKind.Folder.IsFile());
        Assert.False(SourceEntryKind.Missing.IsFile());
    }

    [Fact]
    public void Confine_is_checked_at_open_and_a_bad_confine_folder_is_reported_there()
    {
        string inside = Path.Combine(_dir, "in");
        Directory.CreateDirectory(inside);
        File.WriteAllText(Path.Combine(inside, "ok.vmdk"), "x");
        File.WriteAllText(Path.Combine(_dir, "out.vmdk"), "x");
        var store = new LocalSourceStore(new FileHandlePool(4), inside);
        using (var ok = store.Open(Path.Combine(inside, "ok.vmdk"))) Assert.Equal(1, ok.Length);
        var e = Assert.Throws<SourceUnavailableException>(() => store.Open(Path.Combine(_dir, "out.vmdk")));
        Assert.Contains("--confine", e.Message);
        // constructing a store touches nothing; the missing folder is the first open's error
        var bad = new LocalSourceStore(new FileHandlePool(4), Path.Combine(_dir, "no-such-folder"));
        Assert.Equal(SourceEntryKind.RegularFile, bad.Kind(Path.Combine(inside, "ok.vmdk")));
        var e2 = Assert.Throws<SourceUnavailableException>(() => bad.Open(Path.Combine(inside, "ok.vmdk")));
        Assert.Contains("--confine is not a folder", e2.Message);
    }
}
