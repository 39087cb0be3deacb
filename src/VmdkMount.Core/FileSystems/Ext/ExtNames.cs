using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// ext names are arbitrary bytes (except NUL and '/', which a damaged volume may still hold); Linux tools treat them
/// as UTF-8. How they become the names we show, injectively and reversibly:
/// <list type="bullet">
/// <item>A name that is valid UTF-8, has no NUL and no '/', and has no '%' followed by two hex digits (either case)
/// is shown exactly as decoded.</item>
/// <item>Any other name is shown <b>escaped</b>: every byte that is not part of a valid UTF-8 sequence, every NUL and
/// '/', and every '%' is written as <c>%XX</c> (two upper-case hex digits); valid characters stay as they are.
/// Examples: bytes <c>62 61 64 FF 25</c> ("bad", 0xFF, "%") are shown as <c>bad%FF%25</c>; the valid name
/// <c>d%FF</c> is shown as <c>d%25FF</c>, so it never meets the byte name <c>d</c> + FF, shown <c>d%FF</c>.</item>
/// </list>
/// Why it is injective: an escaped name always holds a <c>%XX</c> (it needed escaping because of a byte that becomes
/// one, or a '%' that becomes <c>%25</c>), a name shown as decoded never does, so the two kinds never meet; within
/// the first kind UTF-8 decoding is one-to-one, within the second every '%' starts an escape, so
/// <see cref="Unescape"/> gives back the bytes. Lookup is by the shown string (the directory's index is keyed by it),
/// so it finds exactly the entry shown so. `.`, `..` and the empty name are never produced: the directory reader
/// reports such entries (<see cref="IReportsUnshownEntries"/>). Symlink targets are split on '/' and each component
/// is shown with the same rule (<see cref="DecodeTarget"/>), so a target component reads exactly as the entry it names.
/// </summary>
public static class ExtNames
{
    private static readonly UTF8Encoding Strict = new(false, true);

    public static string Decode(ReadOnlySpan<byte> name)
    {
        if (!NeedsEscape(name)) return Strict.GetString(name);
        var sb = new StringBuilder(name.Length * 2);
        while (!name.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(name, out var rune, out int consumed);
            if (status == OperationStatus.Done && rune.Value is not ('%' or 0 or '/'))
                sb.Append(rune.ToString());
            else
                for (int i = 0; i < consumed; i++) sb.Append('%').Append(name[i].ToString("X2"));
            name = name[consumed..];
        }
        return sb.ToString();
    }

    /// <summary>A symlink target: '/' separates components, each shown with <see cref="Decode(ReadOnlySpan{byte})"/>.</summary>
    public static string DecodeTarget(ReadOnlySpan<byte> target)
    {
        if (!NeedsEscape(target, slashIsSeparator: true)) return Strict.GetString(target);
        var sb = new StringBuilder(target.Length * 2);
        while (true)
        {
            int slash = target.IndexOf((byte)'/');
            sb.Append(Decode(slash < 0 ? target : target[..slash]));
            if (slash < 0) break;
            sb.Append('/');
            target = target[(slash + 1)..];
        }
        return sb.ToString();
    }

    /// <summary>True when <paramref name="name"/> is not shown as decoded.</summary>
    public static bool NeedsEscape(ReadOnlySpan<byte> name, bool slashIsSeparator = false)
    {
        if (!Utf8.IsValid(name) || name.IndexOf((byte)0) >= 0 || (!slashIsSeparator && name.IndexOf((byte)'/') >= 0)) return true;
        for (int i = 0; i + 2 < name.Length; i++)
            if (name[i] == '%' && IsHex((char)name[i + 1]) && IsHex((char)name[i + 2])) return true;
        return false;
    }

    /// <summary>The bytes a shown name stands for; null when <paramref name="shown"/> is not the shown form of any name.</summary>
    public static byte[]? Unescape(string shown)
    {
        var bytes = new List<byte>(shown.Length);
        Span<byte> buf = stackalloc byte[4];
        for (int i = 0; i < shown.Length;)
        {
            if (shown[i] == '%' && i + 2 < shown.Length && IsHex(shown[i + 1]) && IsHex(shown[i + 2]))
            {
                bytes.Add(Convert.ToByte(shown.Substring(i + 1, 2), 16));
                i += 3;
                continue;
            }
            if (Rune.DecodeFromUtf16(shown.AsSpan(i), out var rune, out int used) != OperationStatus.Done) return null;
            int n = rune.EncodeToUtf8(buf);
            for (int k = 0; k < n; k++) bytes.Add(buf[k]);
            i += used;
        }
        var result = bytes.ToArray();
        return Decode(result) == shown ? result : null;
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);
}
