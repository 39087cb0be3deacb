namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>A parsed directory: entries in on-disk order, a case-insensitive name index and the entries no name can show.</summary>
internal sealed class FatDirectory
{
    private readonly Dictionary<string, int> _byName;

    public FatDirectory(FsDirEntry[] entries, Dictionary<string, int> byName, string? label, UnshownEntry[] unshown)
    {
        Entries = entries;
        Unshown = unshown;
        _byName = byName;
        Label = label;
    }

    public FsDirEntry[] Entries { get; }

    public UnshownEntry[] Unshown { get; }

    public string? Label { get; }

    public FsDirEntry? Find(string key) => _byName.TryGetValue(key, out int i) ? Entries[i] : null;

    /// <summary>Rough bytes held, for the directory cache's budget.</summary>
    public long Weight => 256 + Entries.Length * 256L;
}
