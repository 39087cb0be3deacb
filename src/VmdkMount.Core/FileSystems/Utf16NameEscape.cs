using System.Text;

namespace VmdkMount.Core.FileSystems;

/// <summary>
/// How a UTF-16 name (NTFS names and stream names, FAT long names, exFAT names) becomes the name we show, injectively
/// and reversibly. A damaged or hostile volume may store names that have no UTF-8 form (unpaired surrogates) or that
/// hold the host's path separator '/' or NUL. The rule:
/// <list type="bullet">
/// <item>A name is shown <b>escaped</b> when it has an unpaired surrogate, a '/', a NUL, or a '%' that starts
/// something that reads like an escape ('%' followed by two hex digits, or by 'u' and four hex digits).</item>
/// <item>Escaping writes every '%' as <c>%25</c>, every '/' as <c>%2F</c>, every NUL as <c>%00</c> and every unpaired
/// surrogate unit as <c>%uXXXX</c> (upper-case hex); every other character stays as it is.</item>
/// <item>Every other name is shown exactly as stored.</item>
/// </list>
/// Why it is injective: an escaped name always contains one of the four escapes (a name that needed escaping had a
/// '/', NUL, surrogate or '%'), while a name shown as stored contains none (it would have been escaped), so the two
/// kinds never meet; inside each kind the mapping is one-to-one, because in an escaped name '%' only ever starts one of
/// the four escapes, which <see cref="Decode"/> undoes left to right. Examples: stored <c>a/b</c> is shown
/// <c>a%2Fb</c>; stored <c>a%2Fb</c> is shown <c>a%252Fb</c>; stored <c>100%.txt</c> is shown as stored.
/// <see cref="TryDecode"/> accepts exactly the shown names (it decodes and checks that encoding gives the same text
/// back), so a lookup by any other spelling of an escape finds nothing. `.`, `..` and the empty name are not names
/// this escape produces or accepts: readers report such entries (<see cref="IReportsUnshownEntries"/>).
/// </summary>
public static class Utf16NameEscape
{
    public static string Encode(string raw)
    {
        if (!NeedsEscape(raw)) return raw;
        var sb = new StringBuilder(raw.Length + 8);
        for (int i = 0; i < raw.Length; i++)
        {
            char c = raw[i];
            if (c == '%') sb.Append("%25");
            else if (c == '/') sb.Append("%2F");
            else if (c == '\0') sb.Append("%00");
            else if (char.IsHighSurrogate(c) && i + 1 < raw.Length && char.IsLowSurrogate(raw[i + 1])) { sb.Append(c).Append(raw[i + 1]); i++; }
            else if (char.IsSurrogate(c)) sb.Append("%u").Append(((int)c).ToString("X4"));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// The inverse of <see cref="Encode"/> on names it produced: <c>%25</c>, <c>%2F</c>, <c>%00</c> and
    /// <c>%uD800</c>..<c>%uDFFF</c> are undone, anything else is kept. On a text Encode never produces the result may
    /// not encode back to it; use <see cref="TryDecode"/> to accept only shown names.
    /// </summary>
    public static string Decode(string shown)
    {
        if (shown.IndexOf('%') < 0) return shown;
        var sb = new StringBuilder(shown.Length);
        for (int i = 0; i < shown.Length; i++)
        {
            if (shown[i] == '%' && i + 2 < shown.Length)
            {
                var two = shown.AsSpan(i + 1, 2);
                if (two is "25") { sb.Append('%'); i += 2; continue; }
                if (two is "2F") { sb.Append('/'); i += 2; continue; }
                if (two is "00") { sb.Append('\0'); i += 2; continue; }
                if (i + 5 < shown.Length && shown[i + 1] == 'u' && TryHex4(shown.AsSpan(i + 2, 4), out char u) && char.IsSurrogate(u))
                {
                    sb.Append(u); i += 5; continue;
                }
            }
            sb.Append(shown[i]);
        }
        return sb.ToString();
    }

    /// <summary>The stored name that is shown as <paramref name="shown"/>; false when no stored name is shown so.</summary>
    public static bool TryDecode(string shown, out string raw)
    {
        raw = Decode(shown);
        return Encode(raw) == shown;
    }

    /// <summary>True when <paramref name="raw"/> is not shown as stored.</summary>
    public static bool NeedsEscape(string raw)
    {
        for (int i = 0; i < raw.Length; i++)
        {
            char c = raw[i];
            if (c is '/' or '\0') return true;
            if (c == '%' && LooksLikeEscape(raw.AsSpan(i + 1))) return true;
            if (char.IsHighSurrogate(c) && i + 1 < raw.Length && char.IsLowSurrogate(raw[i + 1])) { i++; continue; }
            if (char.IsSurrogate(c)) return true;
        }
        return false;
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

    /// <summary>What follows a '%': two hex digits (either case), or 'u' and four.</summary>
    private static bool LooksLikeEscape(ReadOnlySpan<char> after) =>
        (after.Length >= 2 && char.IsAsciiHexDigit(after[0]) && char.IsAsciiHexDigit(after[1]))
        || (after.Length >= 5 && after[0] is 'u' or 'U' && char.IsAsciiHexDigit(after[1]) && char.IsAsciiHexDigit(after[2])
            && char.IsAsciiHexDigit(after[3]) && char.IsAsciiHexDigit(after[4]));

    private static bool TryHex4(ReadOnlySpan<char> h, out char value)
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
