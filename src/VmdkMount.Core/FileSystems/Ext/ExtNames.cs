using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// ext names are arbitrary bytes (except NUL and '/'); Linux tools treat them as UTF-8. How they become strings:
/// <list type="bullet">
/// <item>A name that is valid UTF-8 (and has no NUL or '/') is shown exactly as decoded.</item>
/// <item>Any other name is escaped: every byte that is not part of a valid UTF-8 sequence, every NUL and '/', and
/// every '%' is written as <c>%XX</c> (two upper-case hex digits); valid characters stay as they are. Example:
/// bytes <c>62 61 64 FF 25</c> ("bad", 0xFF, "%") are shown as <c>bad%FF%25</c>.</item>
/// </list>
/// The escape is reversible: within an escaped name '%' only ever starts an escape, so <see cref="Unescape"/> gives
/// back the original bytes. Lookup accepts the shown string (exact match on the decoded or escaped form). The one
/// ambiguity: a directory holding both a valid name that literally reads like an escape (<c>bad%FF%25</c>) and the
/// invalid name it would escape to; then both are listed under the same string and lookup finds the valid one.
/// Symlink targets use the same rule, with '/' kept as the separator.
/// </summary>
public static class ExtNames
{
    private static readonly UTF8Encoding Strict = new(false, true);

    public static string Decode(ReadOnlySpan<byte> name) => Decode(name, keepSlash: false);

    public static string Decode(ReadOnlySpan<byte> name, bool keepSlash)
    {
        if (Utf8.IsValid(name) && name.IndexOf((byte)0) < 0 && (keepSlash || name.IndexOf((byte)'/') < 0))
            return Strict.GetString(name);
        var sb = new StringBuilder(name.Length * 2);
        while (!name.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(name, out var rune, out int consumed);
            if (status == OperationStatus.Done && rune.Value != '%' && rune.Value != 0 && (keepSlash || rune.Value != '/'))
                sb.Append(rune.ToString());
            else
                for (int i = 0; i < consumed; i++) sb.Append('%').Append(name[i].ToString("X2"));
            name = name[consumed..];
        }
        return sb.ToString();
    }

    /// <summary>The bytes an escaped name stands for; null when <paramref name="shown"/> is not a well-formed escape.</summary>
    public static byte[]? Unescape(string shown)
    {
        var bytes = new List<byte>(shown.Length);
        Span<byte> buf = stackalloc byte[4];
        for (int i = 0; i < shown.Length;)
        {
            if (shown[i] == '%')
            {
                if (i + 2 >= shown.Length || !IsHex(shown[i + 1]) || !IsHex(shown[i + 2])) return null;
                bytes.Add(Convert.ToByte(shown.Substring(i + 1, 2), 16));
                i += 3;
                continue;
            }
            if (Rune.DecodeFromUtf16(shown.AsSpan(i), out var rune, out int used) != OperationStatus.Done) return null;
            int n = rune.EncodeToUtf8(buf);
            for (int k = 0; k < n; k++) bytes.Add(buf[k]);
            i += used;
        }
        return bytes.ToArray();
    }

    private static bool IsHex(char c) => c is (>= '0' and <= '9') or (>= 'A' and <= 'F') or (>= 'a' and <= 'f');
}
