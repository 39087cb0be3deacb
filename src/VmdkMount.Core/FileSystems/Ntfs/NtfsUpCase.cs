namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// The volume's $UpCase table (record 10): one uppercase code unit for each of the 65536 UTF-16 units. Directory
/// B-trees are sorted with it, so lookups must use it rather than .NET's culture rules.
/// </summary>
internal sealed class NtfsUpCase
{
    public const int Entries = 65536;
    public const int Bytes = Entries * 2;
    private readonly char[] _table;

    private NtfsUpCase(char[] table) => _table = table;

    /// <summary>Builds the table from the stored bytes; a short or missing table falls back to identity for the rest.</summary>
    public static NtfsUpCase FromBytes(ReadOnlySpan<byte> stored)
    {
        var t = new char[Entries];
        int n = Math.Min(Entries, stored.Length / 2);
        for (int i = 0; i < n; i++) t[i] = (char)(stored[2 * i] | stored[2 * i + 1] << 8);
        for (int i = n; i < Entries; i++) t[i] = (char)i;
        // A zero entry would make names collate equal to NUL-padded ones; treat such holes as identity.
        for (int i = 1; i < n; i++) if (t[i] == 0) t[i] = (char)i;
        return new NtfsUpCase(t);
    }

    public char this[char c] => _table[c];

    /// <summary>COLLATION_FILENAME: code unit by code unit after upcasing, shorter first on a common prefix.</summary>
    public int Compare(ReadOnlySpan<char> a, ReadOnlySpan<char> b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            int d = _table[a[i]] - _table[b[i]];
            if (d != 0) return d;
        }
        return a.Length - b.Length;
    }
}
