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
        int lastDot = name.LastIndexOf('.');
        // memo[i, j]: 0 unknown, 1 match, 2 no match
        var memo = new byte[(pattern.Length + 1) * (name.Length + 1)];
        return Match(0, 0);

        bool Match(int i, int j)
        {
            int slot = i * (name.Length + 1) + j;
            if (memo[slot] != 0) return memo[slot] == 1;
            bool r = Compute(i, j);
            memo[slot] = r ? (byte)1 : (byte)2;
            return r;
        }

        bool Compute(int i, int j)
        {
            if (i == pattern.Length) return j == name.Length;
            char p = pattern[i];
            switch (p)
            {
                case '*':
                    for (int k = j; k <= name.Length; k++)
                        if (Match(i + 1, k)) return true;
                    return false;
                case '<':
                {
                    // up to (not past) the last dot of the name; with no dot at or after j, like '*'
                    int end = lastDot >= j ? lastDot : name.Length;
                    for (int k = j; k <= end; k++)
                        if (Match(i + 1, k)) return true;
                    return false;
                }
                case '?':
                    return j < name.Length && Match(i + 1, j + 1);
                case '>':
                    if (j == name.Length || name[j] == '.') return Match(i + 1, j);
                    return Match(i + 1, j + 1);
                case '"':
                    if (j == name.Length) return Match(i + 1, j);
                    return name[j] == '.' && Match(i + 1, j + 1);
                default:
                    if (j == name.Length) return false;
                    char c = name[j];
                    bool same = ignoreCase ? char.ToUpperInvariant(c) == char.ToUpperInvariant(p) : c == p;
                    return same && Match(i + 1, j + 1);
            }
        }
    }
}
