using VmdkMount.Core.Transports;

namespace VmdkMount.Fuzz.Harnesses;

/// <summary>
/// A chain folder in memory: the fuzzed file under <see cref="MainName"/>, and every other name a descriptor names
/// (an extent, a parent) a small zero-filled file, so that the extent and parent code past the first file is reached
/// too. Nothing touches the host's files.
/// </summary>
public sealed class MemorySourceStore(IReadAt main) : ISourceStore
{
    public const string Folder = "/fuzz";
    public const string MainName = Folder + "/disk.vmdk";

    /// <summary>Every other file: 64 KiB of zeros (a flat extent that reads, a parent that is no VMDK).</summary>
    private static readonly byte[] Other = new byte[64 * 1024];

    public string FullName(string name) => name.StartsWith('/') ? name : Folder + "/" + name;

    public string FolderOf(string name)
    {
        int slash = FullName(name).LastIndexOf('/');
        return slash <= 0 ? "/" : FullName(name)[..slash];
    }

    public string Resolve(string relativeTo, string name)
    {
        string joined = name.StartsWith('/') ? name : FolderOf(relativeTo) + "/" + name;
        var parts = new List<string>();
        foreach (var p in joined.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (p == ".") continue;
            if (p == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(p);
        }
        return "/" + string.Join('/', parts);
    }

    public bool IsUnder(string name, string folder) => FullName(name).StartsWith(folder.TrimEnd('/') + "/", StringComparison.Ordinal);

    public string RealFolderOf(string name) => FolderOf(name);

    public SourceEntryKind Kind(string name) => FullName(name) == Folder ? SourceEntryKind.Folder : SourceEntryKind.RegularFile;

    public IReadOnlyList<string> FilesBeside(string name) => [MainName];

    public SourceIdentity Identity(string name) => new(0, 0, FullName(name));

    public ISourceFile Open(string name)
    {
        string full = FullName(name);
        return new File(full, full == MainName ? main : new MemoryReadAt(Other));
    }

    private sealed class File(string name, IReadAt data) : ISourceFile
    {
        public string Name => name;
        public string RealName => name;
        public long Length => data.Length;
        public int ReadAt(long offset, Span<byte> destination) => data.ReadAt(offset, destination);
        public void Dispose() { }
    }
}

/// <summary>A byte array as an <see cref="IReadAt"/>.</summary>
public sealed class MemoryReadAt(byte[] data) : IReadAt
{
    public long Length => data.Length;

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset >= data.Length) return 0;
        int n = (int)Math.Min(destination.Length, data.Length - offset);
        data.AsSpan((int)offset, n).CopyTo(destination);
        return n;
    }
}
