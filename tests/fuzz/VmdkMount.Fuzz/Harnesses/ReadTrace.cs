using VmdkMount.Core.Transports;

namespace VmdkMount.Fuzz.Harnesses;

/// <summary>
/// Records which sectors a harness's walk reads from a real image, so that a seed holds the structures the parser
/// actually visits (boot sector, MFT records, inode tables, directory blocks) and nothing else.
/// </summary>
public sealed class ReadTrace(IReadAt inner) : IReadAt
{
    private readonly HashSet<long> _sectors = new();
    private readonly object _gate = new();

    public long Length => inner.Length;

    public IReadOnlyCollection<long> Sectors
    {
        get { lock (_gate) return _sectors.ToArray(); }
    }

    public int ReadAt(long offset, Span<byte> destination)
    {
        int n = inner.ReadAt(offset, destination);
        lock (_gate)
            for (long s = offset / SparseInput.SectorSize; n > 0 && s <= (offset + n - 1) / SparseInput.SectorSize; s++)
                _sectors.Add(s);
        return n;
    }
}
