namespace VmdkMount.Dokan;

/// <summary>
/// Name matching as the Windows kernel's FsRtlIsNameInExpression does it, for FindFilesWithPattern:
/// <c>*</c> any run, <c>?</c> one character, and the DOS wildcards that Win32 turns <c>*.*</c>-style patterns into:
/// <c>&lt;</c> (DOS_STAR: any run that does not pass the name's last dot), <c>&gt;</c> (DOS_QM: one character, or
/// nothing at a dot or at the end), <c>"</c> (DOS_DOT: a dot, or nothing at the end).
/// Dynamic programming over (pattern, name) positions, so no pattern costs more than their product.
/// </summary>
public static class DosWildcard
{
    public static bool IsMatch(string pattern, string name, bool ignoreCase)
    {
        int n = name.Length;
        int lastDot = name.LastIndexOf('.');
        // Bottom-up over pattern positions, one row per position: next[j] says whether pattern[i+1..] matches
        // name[j..], row[j] the same for pattern[i..]. A run wildcard at (i, j) either ends here (next[j]) or takes one
        // more character (row[j + 1]), so each cell costs O(1) and the whole match O(pattern x name).
        Span<bool> next = n < 512 ? stackalloc bool[n + 1] : new bool[n + 1];
        Span<bool> row = n < 512 ? stackalloc bool[n + 1] : new bool[n + 1];
        next.Clear();
        next[n] = true; // the empty pattern matches only the empty rest
        for (int i = pattern.Length - 1; i >= 0; i--)
        {
            char p = pattern[i];
            for (int j = n; j >= 0; j--)
            {
                row[j] = p switch
                {
                    '*' => next[j] || (j < n && row[j + 1]),
                    // up to (not past) the name's last dot; with no dot at or after j, like '*'
                    '<' => next[j] || (j < (lastDot >= j ? lastDot : n) && row[j + 1]),
                    '?' => j < n && next[j + 1],
                    '>' => j == n || name[j] == '.' ? next[j] : next[j + 1],
                    '"' => j == n ? next[j] : name[j] == '.' && next[j + 1],
                    _ => j < n && Same(name[j], p, ignoreCase) && next[j + 1],
                };
            }
            var swap = next;
            next = row;
            row = swap;
        }
        return next[0];
    }

    private static bool Same(char c, char p, bool ignoreCase) =>
        ignoreCase ? char.ToUpperInvariant(c) == char.ToUpperInvariant(p) : c == p;
}
