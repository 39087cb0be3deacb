using VmdkMount.Core.Transports;

namespace VmdkMount.Fuzz.Harnesses;

/// <summary>
/// Records which sectors a harness's walk reads from a real image, so that a seed holds the structures the parser
/// actually visits (boot sector, MFT records, inode tables, directory blocks) and nothing else.
/// </summary>
public sealed class ReadTrace(IReadAt inner) : IReadAt
{
    private readonly HashSet<long> _sectors = new();
    private readonly List<long> _order = new();
    private readonly object _gate = new();

    public long Length => inner.Length;

    /// <summary>The sectors read, in the order first read: a seed cut to size keeps what the parser needs first.</summary>
    public IReadOnlyList<long> Sectors
    {
        get { lock (_gate) return _order.ToArray(); }
    }

    public int ReadAt(long offset, Span<byte> destination)
    {
        int n = inner.ReadAt(offset, destination);
        lock (_gate)
            for (long s = offset / SparseInput.SectorSize; n > 0 && s <= (offset + n - 1) / SparseInput.SectorSize; s++)
                if (_sectors.Add(s)) _order.Add(s);
        return n;
    }
}
