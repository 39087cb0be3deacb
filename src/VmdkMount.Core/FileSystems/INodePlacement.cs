namespace VmdkMount.Core.FileSystems;

/// <summary>
/// Optional reader capability: where on the volume everything a node shows is read from (its metadata record, the
/// blocks that map its data, the data itself). Restore points use it to tell from a chain's allocation alone that a
/// node is the same in two points: if no link between them wrote any of these bytes, the node reads the same.
/// </summary>
public interface INodePlacement
{
    /// <summary>
    /// Adds to <paramref name="ranges"/> the volume byte ranges (offset, length) that the node's type, size, mode,
    /// link target and content are read from. False when the reader cannot name all of them (a node whose map lives in
    /// blocks it does not list); the caller must then compare another way.
    /// </summary>
    bool TryPlacement(long id, List<(long Offset, long Length)> ranges);
}
