namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>A parsed directory: entries in on-disk order and a case-insensitive name index.</summary>
internal sealed class FatDirectory
{
    private readonly Dictionary<string, int> _byName;

    public FatDirectory(FsDirEntry[] entries, Dictionary<string, int> byName, string? label)
    {
        Entries = entries;
        _byName = byName;
        Label = label;
    }

    public FsDirEntry[] Entries { get; }

    public string? Label { get; }

    public FsDirEntry? Find(string key) => _byName.TryGetValue(key, out int i) ? Entries[i] : null;

    /// <summary>Rough bytes held, for the directory cache's budget.</summary>
    public long Weight => 256 + Entries.Length * 256L;
}
