using System.Security.Cryptography;
using VmdkMount.Core.FileSystems;

namespace VmdkMount.Tests.Corruption;

/// <summary>One entry of the intact image: its node, and the hash of its first <see cref="IntactTree.ReadCap"/> bytes (null: not readable there either).</summary>
public sealed record IntactEntry(string Path, long Id, FsNodeType Type, long Size, string? Hash, string? LinkTarget)
{
    /// <summary>A file whose data the intact image cannot show either: its read error is no sign of the corruption.</summary>
    public bool Unreadable => Type == FsNodeType.File && Hash is null;
}

/// <summary>
/// The intact image's tree as our reader shows it (the oracle tests prove that equal to the real tools' view), bounded
/// in entries and in bytes hashed per file: the corrupted copies are compared with it.
/// </summary>
public sealed class IntactTree
{
    public const int MaxEntries = 700;
    public const int ReadCap = 128 * 1024;

    public IReadOnlyDictionary<string, IntactEntry> ByPath { get; }
    public ILookup<long, string> PathsById { get; }

    private IntactTree(Dictionary<string, IntactEntry> byPath)
    {
        ByPath = byPath;
        PathsById = byPath.Values.ToLookup(e => e.Id, e => e.Path);
    }

    public IEnumerable<IntactEntry> Entries => ByPath.Values;

    /// <summary>No entries: every path is new, so only typed errors are judged.</summary>
    public static IntactTree Empty { get; } = new(new Dictionary<string, IntactEntry>(StringComparer.Ordinal));

    public static IntactTree Of(IFileSystem fs)
    {
        var byPath = new Dictionary<string, IntactEntry>(StringComparer.Ordinal)
        {
            ["/"] = new IntactEntry("/", fs.RootId, FsNodeType.Directory, 0, null, null),
        };
        var pending = new Queue<(long Id, string Path)>();
        pending.Enqueue((fs.RootId, "/"));
        var buffer = new byte[ReadCap];
        while (pending.Count > 0 && byPath.Count < MaxEntries)
        {
            var (dir, path) = pending.Dequeue();
            foreach (var e in fs.List(dir).OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                if (byPath.Count >= MaxEntries) break;
                string child = path == "/" ? "/" + e.Name : path + "/" + e.Name;
                string? hash = null;
                try
                {
                    if (e.Node.Type == FsNodeType.File) hash = HashStart(fs, e.Node.Id, buffer);
                }
                catch (Core.Errors.FileReadException)
                {
                    // a file the intact image cannot show either (a dedup placeholder, EFS): nothing to compare with
                }
                string? target = e.Node.Type == FsNodeType.Symlink && fs is ISymlinkReader links ? links.ReadLink(e.Node.Id) : null;
                byPath[child] = new IntactEntry(child, e.Node.Id, e.Node.Type, e.Node.Size, hash, target);
                if (e.Node.Type == FsNodeType.Directory) pending.Enqueue((e.Node.Id, child));
            }
        }
        return new IntactTree(byPath);
    }

    /// <summary>Hash of the file's first <see cref="ReadCap"/> bytes (or of all of it, when shorter).</summary>
    public static string HashStart(IFileSystem fs, long id, byte[] buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = fs.Read(id, total, buffer.AsSpan(total));
            if (n <= 0) break;
            total += n;
        }
        return Convert.ToHexString(SHA256.HashData(buffer.AsSpan(0, total)));
    }
}
