using System.Text;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// NTFS names are UTF-16 and may hold unpaired surrogates, which have no UTF-8 form (FUSE, JSON and terminals need
/// one). Such a name is shown escaped, reversibly:
///   - a name is escaped when it has an unpaired surrogate, or when it would itself decode as an escaped name;
///   - escaping turns every '%' into "%25" and every unpaired surrogate unit into "%uXXXX" (4 upper-case hex digits);
///   - every other name is shown exactly as stored.
/// <see cref="Decode"/> undoes it ("%25" -> '%', "%uD800".."%uDFFF" -> that unit) and is the identity on names that
/// were not escaped, so Lookup accepts exactly the names List shows. Example: stored "a\uD800b" is shown "a%uD800b";
/// a stored name that really is "a%uD800b" is shown "a%25uD800b".
/// </summary>
internal static class NtfsNameEscape
{
    public static string Encode(string raw)
    {
        if (!HasUnpairedSurrogate(raw) && (raw.IndexOf('%') < 0 || Decode(raw) == raw)) return raw;
        var sb = new StringBuilder(raw.Length + 8);
        for (int i = 0; i < raw.Length; i++)
        {
            char c = raw[i];
            if (c == '%') sb.Append("%25");
            else if (char.IsHighSurrogate(c) && i + 1 < raw.Length && char.IsLowSurrogate(raw[i + 1])) { sb.Append(c).Append(raw[i + 1]); i++; }
            else if (char.IsSurrogate(c)) sb.Append("%u").Append(((int)c).ToString("X4"));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    public static string Decode(string shown)
    {
        if (shown.IndexOf('%') < 0) return shown;
        var sb = new StringBuilder(shown.Length);
        for (int i = 0; i < shown.Length; i++)
        {
            if (shown[i] == '%')
            {
                if (i + 2 < shown.Length && shown[i + 1] == '2' && shown[i + 2] == '5') { sb.Append('%'); i += 2; continue; }
                if (i + 5 < shown.Length && shown[i + 1] == 'u' && TryHex(shown.AsSpan(i + 2, 4), out char u) && char.IsSurrogate(u))
                {
                    sb.Append(u); i += 5; continue;
                }
            }
            sb.Append(shown[i]);
        }
        return sb.ToString();
    }

    public static bool HasUnpairedSurrogate(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            if (char.IsSurrogate(s[i])) return true;
        }
        return false;
    }

    private static bool TryHex(ReadOnlySpan<char> h, out char value)
    {
        int v = 0;
        foreach (char c in h)
        {
            int d = c is >= '0' and <= '9' ? c - '0' : c is >= 'A' and <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0) { value = '\0'; return false; }
            v = v * 16 + d;
        }
        value = (char)v;
        return true;
    }
}
