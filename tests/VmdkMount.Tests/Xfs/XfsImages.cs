using System.Text.RegularExpressions;
using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.FileSystems.Xfs;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Xfs;

/// <summary>The images of images/xfs-basic.sh, our reader over them, and xfs_db as the structural oracle.</summary>
public static partial class XfsImages
{
    public static string Dir => TestImages.Get("xfs-basic");

    public static string Image(string name) => Path.Combine(Dir, name + ".img");

    /// <summary>The host tree the prototype-made images were built from.</summary>
    public static string SourceTree => Path.Combine(Dir, "src");

    /// <summary>Opens an image file as a raw disk holding one XFS volume, the way the tests read it.</summary>
    public static (RawDisk Disk, IFileSystem Fs) Open(string image, IReadAt? through = null)
    {
        var disk = new RawDisk(image);
        try
        {
            IReadAt data = through ?? new SubRange(disk, 0, disk.Length);
            return (disk, XfsFileSystem.Open(data, Path.GetFileName(image), new FileSystemOptions()));
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }

    /// <summary>`xfs_db -r` with the given commands; its stdout.</summary>
    public static string XfsDb(string image, params string[] commands) =>
        Tool.Run("xfs_db", ["-r", .. commands.SelectMany(c => new[] { "-c", c }), image]).StdOut;

    /// <summary>The data fork format xfs_db prints for an inode: local, extents or btree.</summary>
    public static string ForkFormat(string image, long ino)
    {
        var m = FormatLine().Match(XfsDb(image, $"inode {ino}", "print core.format"));
        Assert.True(m.Success, $"xfs_db printed no core.format for inode {ino}");
        return m.Groups[1].Value;
    }

    /// <summary>File offsets (fs blocks) and flags of every extent of the data fork, as xfs_db's bmap prints them.</summary>
    public static List<(long Offset, long StartBlock, long Count, int Flag)> Bmap(string image, long ino) =>
        BmapLine().Matches(XfsDb(image, $"inode {ino}", "bmap"))
            .Select(m => (long.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value), long.Parse(m.Groups[3].Value), int.Parse(m.Groups[4].Value))).ToList();

    /// <summary>Inode number of a path, by our reader (the tree tests prove these equal the kernel's).</summary>
    public static long Ino(IFileSystem fs, string path)
    {
        long id = fs.RootId;
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
            id = (fs.Lookup(id, part) ?? throw new InvalidOperationException($"{path}: {part} not found")).Id;
        return id;
    }

    [GeneratedRegex(@"core\.format = \d+ \((\w+)\)")]
    private static partial Regex FormatLine();

    [GeneratedRegex(@"data offset (\d+) startblock (\d+) \(\d+/\d+\) count (\d+) flag (\d)")]
    private static partial Regex BmapLine();
}
