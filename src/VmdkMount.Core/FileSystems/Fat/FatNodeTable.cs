using System.Collections.Concurrent;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>
/// The nodes of a FAT or exFAT volume by id (the volume offset of the node's directory entry), registered when a
/// listing first shows them; thread-safe. An id never listed is refused, since only a listing knows its entry.
/// </summary>
internal sealed class FatNodeTable<TNode>
    where TNode : class
{
    private readonly ConcurrentDictionary<long, TNode> _nodes = new();
    private readonly string _volume;

    public FatNodeTable(string volume) => _volume = volume;

    /// <summary>Registers a node; the first registration of an id wins.</summary>
    public void Add(long id, TNode node) => _nodes.TryAdd(id, node);

    public TNode Get(long id) =>
        _nodes.TryGetValue(id, out var node)
            ? node
            : throw new FileReadException($"{_volume}: node {id}", "no such node (ids come from List or Lookup)");
}
