using VmdkMount.Core.FileSystems;
using VmdkMount.Tests.Fuse;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Xfs;

/// <summary>
/// XFS extended attributes in every attribute-fork form (short form, one leaf, leaves under a DA node, the node tree
/// behind a B+tree fork on 1 KiB blocks, remote values), written by the kernel (images/xfs-xattr.sh) and compared
/// with the kernel's own listing of user.* attributes: through the reader, and through a FUSE mount of the VMDK,
/// where only user.* is shown (the backed-up machine's trusted.* and security.* are not this machine's).
/// </summary>
public sealed class XfsXattrTests
{
    private static string Dir => TestImages.Get("xfs-xattr");

    public static TheoryData<string> Images => ["v5_4k", "v5_1k"];

    private static SortedSet<string> Oracle(string image) =>
        new(File.ReadAllLines(Path.Combine(Dir, image + ".xattrs")).Where(l => l.Length > 0), StringComparer.Ordinal);

    private static readonly string[] Paths = ["sf.txt", "leaf.txt", "node.txt", "remote.txt", "ns.txt", "dir", "none.txt"];

    [Fact]
    public void The_images_hold_every_attribute_fork_form()
    {
        string Shape(string image, string path) =>
            File.ReadAllLines(Path.Combine(Dir, image + ".shapes")).Single(l => l.StartsWith("/" + path + "\t", StringComparison.Ordinal));
        Assert.Contains("aformat = 1 (local)", Shape("v5_4k", "sf.txt"));
        Assert.Contains("magic = 0x3bee", Shape("v5_4k", "leaf.txt"));
        Assert.Contains("magic = 0x3ebe", Shape("v5_4k", "node.txt"));
        Assert.Contains("aformat = 3 (btree)", Shape("v5_1k", "node.txt"));
        Assert.Contains("magic = 0x3bee", Shape("v5_4k", "remote.txt"));
        var oracle = Oracle("v5_4k");
        Assert.Equal(300, oracle.Count(l => l.StartsWith("/node.txt\t", StringComparison.Ordinal)));
        Assert.Contains(oracle, l => l.StartsWith("/remote.txt\tuser.big\t", StringComparison.Ordinal) && l.Length > 40000);
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void The_reader_lists_what_the_kernel_lists(string image)
    {
        var (disk, fs) = XfsImages.Open(Path.Combine(Dir, image + ".img"));
        using (disk)
        using (fs)
        {
            var attributes = Assert.IsAssignableFrom<IExtendedAttributes>(fs);
            var seen = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var path in Paths)
            {
                var node = fs.Lookup(fs.RootId, path) ?? throw new Xunit.Sdk.XunitException($"{path} not found");
                var all = attributes.ExtendedAttributes(node.Id);
                Assert.Equal(all.Count, all.Select(a => a.Name).Distinct().Count());
                foreach (var a in all.Where(a => a.Name.StartsWith("user.", StringComparison.Ordinal)))
                    seen.Add($"/{path}\t{a.Name}\t{Convert.ToHexStringLower(a.Value)}");
                if (path == "ns.txt")
                {
                    Assert.Contains(all, a => a.Name == "trusted.secret" && a.Value.SequenceEqual("t"u8.ToArray()));
                    Assert.Contains(all, a => a.Name == "security.label");
                }
            }
            Assert.Equal(Oracle(image), seen);
        }
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void A_mount_shows_the_user_attributes_and_nothing_else(string image)
    {
        string scratch = RepoPaths.NewScratch("xfs-xattr");
        try
        {
            string mnt = Path.Combine(scratch, "mnt");
            using (new CliMount(Path.Combine(Dir, image + ".vmdk"), mnt, Path.Combine(scratch, "state")))
            {
                string root = Path.Combine(mnt, "disk");
                var r = Tool.Run("python3", ["-c", """
                    import os, sys
                    root = sys.argv[1]
                    for path in sys.argv[2:]:
                        full = os.path.join(root, path)
                        for n in sorted(os.listxattr(full)):
                            print(f"/{path}\t{n}\t{os.getxattr(full, n).hex()}")
                    """, root, .. Paths]);
                var shown = new SortedSet<string>(r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
                Assert.Equal(Oracle(image), shown);
                var missing = Tool.Run("getfattr", ["-n", "user.nope", Path.Combine(root, "sf.txt")], allowFailure: true);
                Assert.Contains("No such attribute", missing.StdErr);
            }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}
