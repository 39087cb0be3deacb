namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// The problems a delta extent's structural check found, capped so that a file full of garbage yields a readable
/// report (the first <see cref="MaxListed"/> problems, then a count of the rest) instead of millions of lines.
/// </summary>
internal sealed class DeltaProblems(string fileName)
{
    public const int MaxListed = 100;

    private readonly List<string> _listed = new();
    private long _more;

    public void Add(string structure, long offset, string problem)
    {
        if (_listed.Count < MaxListed) _listed.Add($"{fileName}: {structure}: {problem} (at offset {offset})");
        else _more++;
    }

    public IReadOnlyList<string> ToList()
    {
        if (_more == 0) return _listed;
        var all = new List<string>(_listed) { $"{fileName}: ... and {_more} more problems" };
        return all;
    }
}
