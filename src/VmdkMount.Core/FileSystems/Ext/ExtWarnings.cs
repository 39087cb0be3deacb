namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>Warnings gathered while reading (checksum mismatches found on first use, ...): deduplicated and capped.</summary>
internal sealed class ExtWarnings
{
    private const int Max = 200;
    private readonly List<string> _list = new();
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private bool _capped;

    public void Add(string? warning)
    {
        if (warning is null) return;
        lock (_gate)
        {
            if (_list.Count >= Max)
            {
                if (!_capped) _list.Add("more warnings were suppressed");
                _capped = true;
                return;
            }
            if (_seen.Add(warning)) _list.Add(warning);
        }
    }

    public IReadOnlyList<string> Snapshot()
    {
        lock (_gate) return _list.ToArray();
    }
}
