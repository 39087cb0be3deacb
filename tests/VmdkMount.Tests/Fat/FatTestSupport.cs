using System.Security.Cryptography;
using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.FileSystems.Fat;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Fat;

/// <summary>Opens FAT/exFAT images with our readers and describes what they show, for comparison with oracles.</summary>
internal static class FatTestSupport
{
    public static readonly Dictionary<string, string> ToolEnv = new()
    {
        ["TZ"] = "UTC",
        ["LANG"] = "C.UTF-8",
        ["LC_ALL"] = "C.UTF-8",
        ["MTOOLS_SKIP_CHECK"] = "1",
    };

    public static string Image(string set, string file) => Path.Combine(TestImages.Get(set), file);

    public sealed class Opened : IDisposable
    {
        private readonly RawDisk _disk;

        public Opened(string image, bool exFat, long? length = null)
        {
            _disk = new RawDisk(image);
            var range = new SubRange(_disk, 0, length ?? _disk.Length);
            Fs = exFat
                ? ExFatFileSystem.Open(range, Path.GetFileName(image), new FileSystemOptions())
                : FatFileSystem.Open(range, Path.GetFileName(image), new FileSystemOptions());
        }

        public IFileSystem Fs { get; }

        public void Dispose()
        {
            Fs.Dispose();
            _disk.Dispose();
        }
    }

    public sealed record Item(string Path, string Name, long ParentId, FsNode Node);

    /// <summary>Every node below the root, depth first, iteratively; each node id is visited once (cycle-safe).</summary>
    public static List<Item> Walk(IFileSystem fs, int maxItems = 1_000_000)
    {
        var items = new List<Item>();
        var seen = new HashSet<long> { fs.RootId };
        var pending = new Stack<(long Id, string Path)>();
        pending.Push((fs.RootId, ""));
        while (pending.Count > 0 && items.Count < maxItems)
        {
            var (id, path) = pending.Pop();
            foreach (var entry in fs.List(id))
            {
                string child = path + "/" + entry.Name;
                items.Add(new Item(child, entry.Name, id, entry.Node));
                if (entry.Node.Type == FsNodeType.Directory && seen.Add(entry.Node.Id)) pending.Push((entry.Node.Id, child));
            }
        }
        return items;
    }

    private static readonly string EmptySha256 = Hashing.Sha256([]);

    public static string Sha256(IFileSystem fs, FsNode node)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        long offset = 0;
        while (true)
        {
            int n = fs.Read(node.Id, offset, buffer);
            if (n == 0) break;
            sha.AppendData(buffer, 0, n);
            offset += n;
        }
        System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        Assert.Equal(node.Size, offset);
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    /// <summary>path -> "dir" or "file:size:sha256:mtime-seconds" as our reader shows the volume.</summary>
    public static Dictionary<string, string> Describe(IFileSystem fs)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in Walk(fs))
        {
            result[item.Path] = item.Node.Type == FsNodeType.Directory
                ? "dir"
                : $"file:{item.Node.Size}:{Sha256(fs, item.Node)}:{item.Node.Modified?.UnixSeconds}";
        }
        return result;
    }

    /// <summary>The same description of a host folder (an oracle's copy or mount).</summary>
    public static Dictionary<string, string> DescribeHost(string root)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var entry in new DirectoryInfo(dir).EnumerateFileSystemInfos())
            {
                string rel = "/" + Path.GetRelativePath(root, entry.FullName);
                if (entry is DirectoryInfo d)
                {
                    result[rel] = "dir";
                    pending.Push(d.FullName);
                }
                else
                {
                    long mtime = new DateTimeOffset(entry.LastWriteTimeUtc).ToUnixTimeSeconds();
                    long length = ((FileInfo)entry).Length;
                    string hash = length == 0 ? EmptySha256 : Hashing.Sha256File(entry.FullName);
                    result[rel] = $"file:{length}:{hash}:{mtime}";
                }
            }
        }
        return result;
    }

    public static void AssertSameTree(Dictionary<string, string> expected, Dictionary<string, string> actual)
    {
        var missing = expected.Keys.Except(actual.Keys).Order().ToList();
        var extra = actual.Keys.Except(expected.Keys).Order().ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"missing: [{string.Join(", ", missing.Take(20))}] extra: [{string.Join(", ", extra.Take(20))}]");
        foreach (var (path, desc) in expected)
            Assert.True(desc == actual[path], $"{path}: expected {desc}, got {actual[path]}");
    }

    public static string CopyToScratch(string image, string hint)
    {
        string dir = RepoPaths.NewScratch(hint);
        string copy = Path.Combine(dir, Path.GetFileName(image));
        File.Copy(image, copy);
        return copy;
    }

    public static void Patch(string image, long offset, ReadOnlySpan<byte> bytes)
    {
        using var f = new FileStream(image, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        f.Write(bytes);
    }

    public static byte[] ReadBytes(string image, long offset, int count)
    {
        using var f = File.OpenRead(image);
        f.Position = offset;
        var b = new byte[count];
        f.ReadExactly(b);
        return b;
    }

    public static void DeleteScratch(string image)
    {
        var dir = Path.GetDirectoryName(image)!;
        if (dir.Contains(Path.Combine("build", "tmp"))) Directory.Delete(dir, recursive: true);
    }
    /// <summary>Mounts the image read-only with exfat-fuse on a read-only loop device; always undone.</summary>
    public sealed class ExFatFuseMount : IDisposable
    {
        private readonly string _loop;

        public ExFatFuseMount(string image)
        {
            Dir = RepoPaths.NewScratch("exfat-mnt");
            _loop = Tool.Run("losetup", "-f", "--show", "-r", image).StdOut.Trim();
            try
            {
                Tool.Run("mount.exfat-fuse", "-o", "ro", _loop, Dir);
                Tool.Run("mountpoint", "-q", Dir);
            }
            catch
            {
                Tool.Run("losetup", ["-d", _loop], allowFailure: true);
                Directory.Delete(Dir, recursive: true);
                throw;
            }
        }

        public string Dir { get; }

        public void Dispose()
        {
            if (Tool.Run("umount", [Dir], allowFailure: true).ExitCode != 0)
                Tool.Run("fusermount3", ["-u", Dir], allowFailure: true);
            Tool.Run("losetup", ["-d", _loop], allowFailure: true);
            Directory.Delete(Dir, recursive: false);
        }
    }

}
