using System.Text;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Volumes;

/// <summary>A `name { ... }` section of LVM2 metadata text. Values are long, string, List&lt;object&gt; or Lvm2Section.</summary>
internal sealed class Lvm2Section
{
    public Lvm2Section(string name) => Name = name;

    public string Name { get; }

    /// <summary>Keys in file order (LVM writes pv0, pv1, segment1, segment2 ... in order).</summary>
    public List<KeyValuePair<string, object>> Items { get; } = [];

    public object? Get(string key)
    {
        foreach (var kv in Items)
            if (kv.Key == key) return kv.Value;
        return null;
    }

    public Lvm2Section? Section(string key) => Get(key) as Lvm2Section;

    public IEnumerable<Lvm2Section> Sections => Items.Select(kv => kv.Value).OfType<Lvm2Section>();

    public string? String(string key) => Get(key) as string;

    public long? Number(string key) => Get(key) is long n ? n : null;

    public List<object>? List(string key) => Get(key) as List<object>;
}

/// <summary>
/// Parses LVM2 metadata text (`name = value`, `name { ... }`, lists `[a, b]`, `#` comments) into sections, with an
/// explicit stack (no recursion) and a nesting limit. Any deviation is a <see cref="CorruptDataException"/> naming
/// the line.
/// </summary>
internal static class Lvm2MetadataParser
{
    private const int MaxDepth = 32;

    public static Lvm2Section Parse(string text, string where)
    {
        var root = new Lvm2Section("");
        var stack = new Stack<Lvm2Section>();
        stack.Push(root);
        int pos = 0;
        while (true)
        {
            SkipSpace(text, ref pos);
            if (pos >= text.Length) break;
            char c = text[pos];
            if (c == '}')
            {
                if (stack.Count == 1) throw Error(text, pos, where, "unbalanced '}'");
                stack.Pop();
                pos++;
                continue;
            }
            string name = ReadName(text, ref pos, where);
            SkipSpace(text, ref pos);
            if (pos >= text.Length) throw Error(text, pos, where, $"'{name}' is not followed by '=' or '{{'");
            if (text[pos] == '{')
            {
                pos++;
                if (stack.Count > MaxDepth) throw Error(text, pos, where, "sections nested too deeply");
                var section = new Lvm2Section(name);
                stack.Peek().Items.Add(new(name, section));
                stack.Push(section);
            }
            else if (text[pos] == '=')
            {
                pos++;
                SkipSpace(text, ref pos);
                stack.Peek().Items.Add(new(name, ReadValue(text, ref pos, where)));
            }
            else throw Error(text, pos, where, $"'{name}' is not followed by '=' or '{{'");
        }
        if (stack.Count != 1) throw Error(text, pos, where, $"section '{stack.Peek().Name}' is not closed");
        return root;
    }

    private static object ReadValue(string text, ref int pos, string where)
    {
        if (pos >= text.Length) throw Error(text, pos, where, "value missing at end of text");
        if (text[pos] != '[') return ReadScalar(text, ref pos, where);
        pos++;
        var list = new List<object>();
        while (true)
        {
            SkipSpace(text, ref pos);
            if (pos >= text.Length) throw Error(text, pos, where, "list is not closed");
            if (text[pos] == ']') { pos++; return list; }
            list.Add(ReadScalar(text, ref pos, where));
            SkipSpace(text, ref pos);
            if (pos < text.Length && text[pos] == ',') pos++;
            else if (pos < text.Length && text[pos] != ']') throw Error(text, pos, where, "expected ',' or ']' in a list");
        }
    }

    private static object ReadScalar(string text, ref int pos, string where)
    {
        if (text[pos] == '"')
        {
            var sb = new StringBuilder();
            pos++;
            while (true)
            {
                if (pos >= text.Length) throw Error(text, pos, where, "string is not closed");
                char c = text[pos++];
                if (c == '"') return sb.ToString();
                if (c == '\\' && pos < text.Length) c = text[pos++];
                sb.Append(c);
            }
        }
        int start = pos;
        if (pos < text.Length && (text[pos] == '-' || text[pos] == '+')) pos++;
        while (pos < text.Length && (char.IsAsciiDigit(text[pos]) || text[pos] == '.')) pos++;
        string token = text[start..pos];
        if (long.TryParse(token, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long n)) return n;
        if (double.TryParse(token, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)) return token;
        throw Error(text, start, where, "expected a number, a string or a list");
    }

    private static string ReadName(string text, ref int pos, string where)
    {
        int start = pos;
        while (pos < text.Length && !char.IsWhiteSpace(text[pos]) && "={}[],\"#".IndexOf(text[pos]) < 0) pos++;
        if (pos == start) throw Error(text, pos, where, $"unexpected '{text[pos]}'");
        return text[start..pos];
    }

    private static void SkipSpace(string text, ref int pos)
    {
        while (pos < text.Length)
        {
            char c = text[pos];
            if (c == '#')
            {
                while (pos < text.Length && text[pos] != '\n') pos++;
            }
            else if (char.IsWhiteSpace(c) || c == '\0') pos++;
            else break;
        }
    }

    private static CorruptDataException Error(string text, int pos, string where, string problem)
    {
        int line = 1;
        for (int i = 0; i < pos && i < text.Length; i++) if (text[i] == '\n') line++;
        return new CorruptDataException(where + " LVM2 metadata text", pos, $"{problem} (line {line})");
    }
}
