using System.Text;

namespace VmdkMount.Cli;

/// <summary>
/// Names from an image as they reach a person: a hostile name may hold ESC (terminal control sequences), BEL,
/// newline (a forged second line of output), DEL or C1 controls. Three renderings:
/// <list type="bullet">
/// <item><see cref="ForTerminal"/>, stdout on a terminal: GNU ls's default there, <c>--quoting-style=shell-escape</c>.
/// A name of safe characters is shown as it is; any other is single-quoted for the shell, and each unsafe character is
/// written as <c>'$'\n''</c>-style ANSI-C quoting (octal bytes of its UTF-8 form where no short escape exists), so
/// pasting the shown text into a shell gives back the exact name: <c>a\nb</c> is shown <c>'a'$'\n''b'</c>, <c>a b</c>
/// is shown <c>'a b'</c>.</item>
/// <item><see cref="ForPipe"/>, stdout redirected: one entry per line, exact, except that a name with an unsafe
/// character, or one that begins like a quoted name (<c>'</c>, <c>"</c> or <c>$</c>), is shown in the shell-escape form
/// above. A quoted form always begins with one of those three, so every line still stands for one name and no raw
/// control character is ever written.</item>
/// <item>JSON (<c>--json</c>) carries names exactly; the JSON writer escapes control characters (<c>\u001B</c>).</item>
/// </list>
/// Diagnostics on stderr go through <see cref="DiagnosticWriter"/>: control characters in a message become
/// <c>\xHH</c> (<c>\u0085</c> for C1), so no name in an error can move the cursor or forge a line.
/// Unsafe characters: C0 controls, DEL, C1 controls, and the Unicode line/paragraph separators and bidirectional
/// overrides (which can make a name read as another on screen).
/// </summary>
public static class TerminalText
{
    public static bool IsUnsafe(char c) =>
        c < 0x20 || c is >= '\u007F' and <= '\u009F' || c is '\u2028' or '\u2029' || c is >= '\u202A' and <= '\u202E'
        || c is >= '\u2066' and <= '\u2069';

    public static string ForOutput(string name, bool terminal) => terminal ? ForTerminal(name) : ForPipe(name);

    public static string ForPipe(string name)
    {
        if (name.Length > 0 && name[0] is not ('\'' or '"' or '$') && !HasUnsafe(name)) return name;
        return ShellEscape(name);
    }

    public static string ForTerminal(string name) => NeedsShellQuoting(name) ? ShellEscape(name) : name;

    public static bool HasUnsafe(string s)
    {
        foreach (char c in s) if (IsUnsafe(c)) return true;
        return false;
    }

    /// <summary>Control characters written as <c>\xHH</c> (or <c>\uHHHH</c>): for messages, readable, not reversible.</summary>
    public static string ForDiagnostic(string message)
    {
        if (!HasUnsafe(message)) return message;
        var sb = new StringBuilder(message.Length + 16);
        foreach (char c in message)
        {
            if (!IsUnsafe(c)) sb.Append(c);
            else if (c < 0x80) sb.Append("\\x").Append(((int)c).ToString("X2"));
            else sb.Append("\\u").Append(((int)c).ToString("X4"));
        }
        return sb.ToString();
    }

    /// <summary>
    /// Single-quoted for a POSIX shell; unsafe characters as <c>$'...'</c> segments, a quote as <c>\'</c>. The result
    /// always begins with <c>'</c> or <c>$'</c>.
    /// </summary>
    public static string ShellEscape(string name)
    {
        if (name.Length == 0) return "''";
        var sb = new StringBuilder(name.Length + 8);
        const int None = 0, Quoted = 1, AnsiC = 2;
        int state = None;
        if (name[0] == '\'') sb.Append("''");
        Span<byte> utf8 = stackalloc byte[4];
        foreach (char c in name)
        {
            if (c == '\'')
            {
                if (state != None) sb.Append('\'');
                sb.Append("\\'");
                state = None;
            }
            else if (!IsUnsafe(c))
            {
                if (state == AnsiC) sb.Append('\'');
                if (state != Quoted) sb.Append('\'');
                state = Quoted;
                sb.Append(c);
            }
            else
            {
                if (state == Quoted) sb.Append('\'');
                if (state != AnsiC) sb.Append("$'");
                state = AnsiC;
                string? shortForm = c switch
                {
                    '\a' => "\\a", '\b' => "\\b", '\t' => "\\t", '\n' => "\\n", '\v' => "\\v", '\f' => "\\f", '\r' => "\\r",
                    _ => null,
                };
                if (shortForm is not null) sb.Append(shortForm);
                else
                {
                    int n = new Rune(c).EncodeToUtf8(utf8);
                    for (int k = 0; k < n; k++) sb.Append('\\').Append(Convert.ToString(utf8[k], 8).PadLeft(3, '0'));
                }
            }
        }
        if (state != None) sb.Append('\'');
        return sb.ToString();
    }

    /// <summary>As GNU: quoted when empty, or holding an unsafe character or one a shell would read specially.</summary>
    private static bool NeedsShellQuoting(string name)
    {
        if (name.Length == 0) return true;
        if (name[0] is '~' or '#') return true;
        foreach (char c in name)
        {
            if (IsUnsafe(c)) return true;
            if (c is ' ' or '!' or '"' or '$' or '&' or '\'' or '(' or ')' or '*' or ';' or '<' or '>' or '?' or '['
                or '\\' or ']' or '^' or '`' or '{' or '|' or '}') return true;
        }
        return false;
    }
}

/// <summary>
/// The stderr writer every command uses: each message passes <see cref="TerminalText.ForDiagnostic"/>. The real stderr
/// writer is made on the first write, not at install: .NET duplicates fd 2 when it opens stderr, and a detached mount
/// points fd 2 at its log only after start-up (DetachedStdio), so an early open would write past the log.
/// </summary>
public sealed class DiagnosticWriter : TextWriter
{
    private static int _installed;
    private static readonly Lazy<TextWriter> LazyRaw = new(() =>
        TextWriter.Synchronized(new StreamWriter(Console.OpenStandardError(), new UTF8Encoding(false), 256) { AutoFlush = true }));

    private readonly Lazy<TextWriter> _inner;

    public DiagnosticWriter(TextWriter inner) => _inner = new Lazy<TextWriter>(inner);

    private DiagnosticWriter(Lazy<TextWriter> inner) => _inner = inner;

    /// <summary>The process's stderr without escaping, for output that must keep its control sequences (progress bars).</summary>
    public static TextWriter Raw => _installed != 0 ? LazyRaw.Value : Console.Error;

    /// <summary>Puts a DiagnosticWriter in front of stderr, once per process.</summary>
    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) != 0) return;
        Console.SetError(new DiagnosticWriter(LazyRaw));
    }

    private TextWriter Inner => _inner.Value;

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        if (value == '\n' || !TerminalText.IsUnsafe(value)) Inner.Write(value);
        else Inner.Write(TerminalText.ForDiagnostic(value.ToString()));
    }

    /// <summary>A text written in pieces keeps its line breaks (a log copied through); nothing else unsafe passes.</summary>
    public override void Write(string? value)
    {
        if (value is null) return;
        if (value.IndexOf('\n') < 0) { Inner.Write(TerminalText.ForDiagnostic(value)); return; }
        Inner.Write(string.Join('\n', value.Split('\n').Select(TerminalText.ForDiagnostic)));
    }

    public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

    /// <summary>One message, one line: a newline inside it is written as <c>\x0A</c>.</summary>
    public override void WriteLine(string? value)
    {
        Inner.Write(TerminalText.ForDiagnostic(value ?? ""));
        Inner.WriteLine();
    }

    public override void WriteLine() => Inner.WriteLine();

    public override void Flush()
    {
        if (_inner.IsValueCreated) Inner.Flush();
    }
}
