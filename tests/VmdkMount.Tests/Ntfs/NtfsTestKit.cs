using System.Security.Cryptography;
using System.Text.Json;
using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.FileSystems.Ntfs;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Ntfs;

/// <summary>Opens generated NTFS images and walks them the way a frontend would (List, Lookup, Read, streams).</summary>
internal sealed class NtfsVolume : IDisposable
{
    private readonly IDisposable? _owner;
    public IFileSystem Fs { get; }

    public NtfsVolume(string image, FileSystemOptions? options = null)
    {
        var disk = new RawDisk(image);
        _owner = disk;
        Fs = NtfsFileSystem.Open(new SubRange(disk, 0, disk.Length), Path.GetFileName(image), options ?? new FileSystemOptions());
    }

    /// <summary>Walks a filesystem someone else opened (a MountedDisk's); disposing this does not close it.</summary>
    public NtfsVolume(IFileSystem fs) => Fs = fs;

    public static string Image(string set, string name) => Path.Combine(TestImages.Get(set), name);

    public void Dispose()
    {
        if (_owner is null) return;
        Fs.Dispose();
        _owner.Dispose();
    }

    public sealed record Entry(string Path, FsNode Node, string? Target, string? Sha256, List<(string Name, long Size, string Sha256)> Streams);

    /// <summary>Every entry below the root, depth first with an explicit stack, data hashed through Read.</summary>
    public Dictionary<string, Entry> Walk(bool hash = true, Func<string, bool>? skip = null)
    {
        var result = new Dictionary<string, Entry>(StringComparer.Ordinal);
        var pending = new Stack<(long Id, string Path)>();
        pending.Push((Fs.RootId, ""));
        while (pending.Count > 0)
        {
            var (id, path) = pending.Pop();
            foreach (var e in Fs.List(id))
            {
                string p = path + "/" + e.Name;
                if (skip?.Invoke(p) == true) continue;
                string? target = e.Node.Type == FsNodeType.Symlink ? Fs.Links().ReadLink(e.Node.Id) : null;
                string? sha = null;
                if (hash && e.Node.Type == FsNodeType.File && (e.Node.Attributes & (FsAttributes.Encrypted | FsAttributes.ReparsePoint)) == 0)
                    sha = HashFile(e.Node.Id, null);
                var streams = new List<(string, long, string)>();
                foreach (var s in Fs.Streams().ListStreams(e.Node.Id))
                    streams.Add((s.Name, s.Size, hash ? HashFile(e.Node.Id, s.Name) : ""));
                result.Add(p, new Entry(p, e.Node, target, sha, streams));
                if (e.Node.Type == FsNodeType.Directory) pending.Push((e.Node.Id, p));
            }
        }
        return result;
    }

    public string HashFile(long id, string? stream)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buf = new byte[1 << 20];
        long off = 0;
        while (true)
        {
            int n = stream is null ? Fs.Read(id, off, buf) : Fs.Streams().ReadStream(id, stream, off, buf);
            if (n <= 0) break;
            sha.AppendData(buf, 0, n);
            off += n;
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    public byte[] ReadAll(long id)
    {
        var ms = new MemoryStream();
        var buf = new byte[65536];
        long off = 0;
        int n;
        while ((n = Fs.Read(id, off, buf)) > 0) { ms.Write(buf, 0, n); off += n; }
        return ms.ToArray();
    }

    public static long? Ns(FsTime? t) => t is { } v ? v.UnixSeconds * 1_000_000_000 + v.Nanoseconds : null;

    public FsNode Resolve(string path)
    {
        FsNode node = Fs.Stat(Fs.RootId);
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
            node = Fs.Lookup(node.Id, part) ?? throw new Xunit.Sdk.XunitException($"{path}: '{part}' not found");
        return node;
    }
}

/// <summary>The ntfs-3g view written by images/ntfs-lib.sh (ntfs_oracle_manifest).</summary>
internal sealed record OracleEntry(string Path, long Inode, int Links, string Type, long Size, string? Sha256, string? Target,
    string? Error, List<OracleStream> Streams)
{
    /// <summary>st_mtime / st_atime / st_ctime of the ntfs-3g mount in ns (ntfs-3g maps them from $STANDARD_INFORMATION).</summary>
    public long? MtimeNs { get; init; }
    public long? AtimeNs { get; init; }
    public long? CtimeNs { get; init; }

    public static List<OracleEntry> Load(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        var list = new List<OracleEntry>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            var streams = new List<OracleStream>();
            if (e.TryGetProperty("streams", out var ss))
                foreach (var s in ss.EnumerateArray())
                    streams.Add(new OracleStream(s.GetProperty("name").GetString()!, s.GetProperty("size").GetInt64(), s.GetProperty("sha256").GetString()!));
            list.Add(new OracleEntry(e.GetProperty("path").GetString()!,
                e.TryGetProperty("inode", out var ino) ? ino.GetInt64() : -1,
                e.TryGetProperty("links", out var l) ? l.GetInt32() : 0,
                e.GetProperty("type").GetString()!,
                e.TryGetProperty("size", out var sz) ? sz.GetInt64() : 0,
                e.TryGetProperty("sha256", out var h) ? h.GetString() : null,
                e.TryGetProperty("target", out var t) ? t.GetString() : null,
                e.TryGetProperty("error", out var er) ? er.GetString() : null,
                streams)
            {
                MtimeNs = e.TryGetProperty("mtime_ns", out var mt) ? mt.GetInt64() : null,
                AtimeNs = e.TryGetProperty("atime_ns", out var at) ? at.GetInt64() : null,
                CtimeNs = e.TryGetProperty("ctime_ns", out var ct) ? ct.GetInt64() : null,
            });
        }
        return list;
    }
}

internal sealed record OracleStream(string Name, long Size, string Sha256);

/// <summary>`fls -r -p` lines: "r/r 64-128-2:\tsmall.txt" (type, record, path; `path:stream` for streams).</summary>
internal sealed record FlsEntry(string Type, long Record, int AttributeType, string Path)
{
    public static List<FlsEntry> Load(string file)
    {
        var list = new List<FlsEntry>();
        foreach (var line in File.ReadAllLines(file))
        {
            int tab = line.IndexOf('\t');
            if (tab < 0) continue;
            var head = line[..tab].TrimEnd(':');
            var parts = head.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2) continue;
            bool deleted = parts.Length > 2;
            if (deleted) continue;
            var ids = parts[1].Split('-');
            if (!long.TryParse(ids[0], out long r)) continue;
            int attrType = ids.Length > 1 && int.TryParse(ids[1], out int t) ? t : 0;
            list.Add(new FlsEntry(parts[0], r, attrType, line[(tab + 1)..]));
        }
        return list;
    }
}
