using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;

namespace VmdkMount.Tests.Fuse;

/// <summary>A small in-memory <see cref="IFileSystem"/> for testing the FUSE adapter before and beside the real readers.</summary>
internal sealed class MemoryFileSystem : IFileSystem, ISymlinkReader, INamedStreams
{
    private sealed class Item
    {
        public required FsNode Node;
        public byte[] Data = [];
        public string? Target;
        public bool Broken;
        public readonly Dictionary<string, long> Children = new(StringComparer.Ordinal);
        public readonly Dictionary<string, byte[]> Streams = new(StringComparer.Ordinal);
    }

    private readonly Dictionary<long, Item> _items = new();
    private long _next = 100;

    public MemoryFileSystem(string kind = "memfs", bool unixOwners = false)
    {
        Kind = kind;
        _unix = unixOwners;
        _items[RootId] = new Item { Node = Node(RootId, FsNodeType.Directory, 0) };
    }

    private readonly bool _unix;

    public string Kind { get; }
    public string? Label => "mem";
    public long RootId => 5;
    public IReadOnlyList<string> Warnings => [];

    public long AddDir(long parent, string name) => Add(parent, name, new Item { Node = Node(_next, FsNodeType.Directory, 0) });

    public long AddFile(long parent, string name, byte[] data, FsAttributes attributes = FsAttributes.None, bool broken = false) =>
        Add(parent, name, new Item { Node = Node(_next, FsNodeType.File, data.Length) with { Attributes = attributes }, Data = data, Broken = broken });

    public long AddSymlink(long parent, string name, string target) =>
        Add(parent, name, new Item { Node = Node(_next, FsNodeType.Symlink, target.Length), Target = target });

    public void AddHardLink(long parent, string name, long existing)
    {
        _items[parent].Children[name] = existing;
        var item = _items[existing];
        item.Node = item.Node with { Links = item.Node.Links + 1 };
    }

    public void AddStream(long id, string name, byte[] data) => _items[id].Streams[name] = data;

    private long Add(long parent, string name, Item item)
    {
        long id = _next++;
        _items[id] = item;
        _items[parent].Children[name] = id;
        return id;
    }

    private FsNode Node(long id, FsNodeType type, long size) => new()
    {
        Id = id, Type = type, Size = size,
        Mode = _unix ? (type == FsNodeType.Directory ? 0x1C0u /* 0700 */ : 0x1A0u /* 0640 */) : null,
        Uid = _unix ? 1234u : null,
        Gid = _unix ? 2345u : null,
        Modified = new FsTime(1_700_000_000 + id, 123_456_700),
    };

    public FsNode? Lookup(long directoryId, string name) =>
        _items[directoryId].Children.TryGetValue(name, out var id) ? _items[id].Node : null;

    public IEnumerable<FsDirEntry> List(long directoryId)
    {
        _listings.AddOrUpdate(directoryId, 1, (_, n) => n + 1);
        return _items[directoryId].Children.Select(kv => new FsDirEntry(kv.Key, _items[kv.Value].Node)).ToList();
    }

    /// <summary>How many times <see cref="List"/> read this directory.</summary>
    public int ListingsOf(long directoryId) => _listings.TryGetValue(directoryId, out int n) ? n : 0;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, int> _listings = new();

    public FsNode Stat(long id) => _items.TryGetValue(id, out var item) ? item.Node : throw new CorruptDataException("memfs", id, "no such node");

    /// <summary>How many times <see cref="Read"/> read this node.</summary>
    public int ReadsOf(long id) => _reads.TryGetValue(id, out int n) ? n : 0;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, int> _reads = new();

    public int Read(long id, long offset, Span<byte> destination)
    {
        _reads.AddOrUpdate(id, 1, (_, n) => n + 1);
        var item = _items[id];
        if (item.Broken) throw new CorruptDataException("memfs:node " + id, 4096, "damaged run");
        if (offset >= item.Data.Length) return 0;
        int n = (int)Math.Min(destination.Length, item.Data.Length - offset);
        item.Data.AsSpan((int)offset, n).CopyTo(destination);
        return n;
    }

    public string ReadLink(long id) => _items[id].Target ?? throw new CorruptDataException("memfs", id, "not a link");

    public IReadOnlyList<FsStream> ListStreams(long id) =>
        _items[id].Streams.Select(kv => new FsStream(kv.Key, kv.Value.Length)).ToList();

    public int ReadStream(long id, string streamName, long offset, Span<byte> destination)
    {
        var data = _items[id].Streams[streamName];
        if (offset >= data.Length) return 0;
        int n = (int)Math.Min(destination.Length, data.Length - offset);
        data.AsSpan((int)offset, n).CopyTo(destination);
        return n;
    }

    public void Dispose() { }
}
