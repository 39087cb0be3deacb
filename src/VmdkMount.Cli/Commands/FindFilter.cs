using System.Globalization;
using System.Text.RegularExpressions;
using VmdkMount.Core.FileSystems;

namespace VmdkMount.Cli.Commands;

/// <summary>The tests of one `find`: every one given must hold (they are and-ed, as find's are).</summary>
internal sealed class FindFilter
{
    public Regex? Name { get; init; }
    public DateTime? NewerThan { get; init; }
    public DateTime? OlderThan { get; init; }
    public (char Sign, long Bytes)? Size { get; init; }
    public FsNodeType? Type { get; init; }

    public bool Matches(string name, FsNode node)
    {
        if (Type is { } t && node.Type != t) return false;
        if (Name is not null && !Name.IsMatch(name)) return false;
        if (Size is var (sign, bytes) && !(sign == '+' ? node.Size > bytes : sign == '-' ? node.Size < bytes : node.Size == bytes)) return false;
        if (NewerThan is not null || OlderThan is not null)
        {
            if (node.Modified is not { } m) return false;
            var utc = m.ToDateTime();
            if (NewerThan is { } n && utc <= n) return false;
            if (OlderThan is { } o && utc >= o) return false;
        }
        return true;
    }

    /// <summary>An ISO date or time (local unless it names a zone), or an age: `3d`, `12h`, `30m`, `45s`; as UTC.</summary>
    public static DateTime ParseDate(string text, string option)
    {
        string t = text.Trim();
        if (t.Length > 1 && long.TryParse(t[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out long n))
        {
            TimeSpan? age = char.ToLowerInvariant(t[^1]) switch
            {
                'd' => TimeSpan.FromDays(n),
                'h' => TimeSpan.FromHours(n),
                'm' => TimeSpan.FromMinutes(n),
                's' => TimeSpan.FromSeconds(n),
                _ => null,
            };
            if (age is { } a) return DateTime.UtcNow - a;
        }
        if (DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var when)) return when.UtcDateTime;
        throw new ArgumentException($"{option}: '{text}' is not a date (2026-11-24, 2026-11-24T18:00, 2026-11-24T18:00Z) or an age (3d, 12h, 30m)");
    }

    /// <summary>`+10M` (more than), `-4k` (less than), `512` (exactly), in bytes with 1024-based suffixes.</summary>
    public static (char, long) ParseSize(string text)
    {
        string t = text.Trim();
        char sign = t.Length > 0 && t[0] is '+' or '-' ? t[0] : '=';
        if (sign != '=') t = t[1..];
        long scale = 1;
        if (t.Length > 0 && char.ToLowerInvariant(t[^1]) is 'k' or 'm' or 'g' or 't')
        {
            scale = char.ToLowerInvariant(t[^1]) switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, _ => 1L << 40 };
            t = t[..^1];
        }
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long v) || v > long.MaxValue / scale)
            throw new ArgumentException($"--size: '{text}' is not a size such as +10M, -4k or 512");
        return (sign, v * scale);
    }

    public static FsNodeType ParseType(string text) => text switch
    {
        "f" => FsNodeType.File,
        "d" => FsNodeType.Directory,
        "l" => FsNodeType.Symlink,
        _ => throw new ArgumentException($"--type: '{text}' is not f (file), d (directory) or l (symbolic link)"),
    };
}

/// <summary>Shell globs as find's -name takes them, for one name (no `/`): `*`, `?`, `[abc]`, `[!a-z]`, `\x`.</summary>
internal static class Glob
{
    public static Regex Compile(string glob, bool ignoreCase)
    {
        var re = new System.Text.StringBuilder("^");
        for (int i = 0; i < glob.Length; i++)
        {
            char c = glob[i];
            switch (c)
            {
                case '*': re.Append(".*"); break;
                case '?': re.Append('.'); break;
                case '\\' when i + 1 < glob.Length: re.Append(Regex.Escape(glob[++i].ToString())); break;
                case '[':
                    int close = glob.IndexOf(']', i + 2 <= glob.Length ? i + 2 : glob.Length);
                    if (close < 0) { re.Append(@"\["); break; }
                    string body = glob[(i + 1)..close];
                    bool negate = body.StartsWith('!') || body.StartsWith('^');
                    if (negate) body = body[1..];
                    re.Append(negate ? "[^" : "[").Append(body.Replace(@"\", @"\\").Replace("[", @"\[")).Append(']');
                    i = close;
                    break;
                default: re.Append(Regex.Escape(c.ToString())); break;
            }
        }
        re.Append('$');
        // NonBacktracking: a pattern of many stars costs linear time on any name
        var options = RegexOptions.CultureInvariant | RegexOptions.Singleline | RegexOptions.NonBacktracking;
        if (ignoreCase) options |= RegexOptions.IgnoreCase;
        return new Regex(re.ToString(), options);
    }
}
