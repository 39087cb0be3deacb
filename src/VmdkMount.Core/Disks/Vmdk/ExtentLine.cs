using System.Globalization;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>How an extent may be accessed (the first word of an extent line). RW and RDONLY read the same in a read-only engine.</summary>
public enum ExtentAccess { ReadWrite, ReadOnly, NoAccess }

/// <summary>One `ACCESS SIZE TYPE ["FILENAME" [OFFSET]]` line of a descriptor.</summary>
public sealed record ExtentLine(ExtentAccess Access, long SizeSectors, string Type, string? FileName, long OffsetSectors, bool HasOffset)
{
    private static readonly string[] AccessWords = ["RW", "RDONLY", "NOACCESS"];

    /// <summary>True when the trimmed line begins with an access word followed by blank space (or ends there).</summary>
    public static bool LooksLikeExtent(string trimmed)
    {
        foreach (var word in AccessWords)
            if (trimmed.StartsWith(word, StringComparison.OrdinalIgnoreCase)
                && (trimmed.Length == word.Length || trimmed[word.Length] is ' ' or '\t'))
                return true;
        return false;
    }

    /// <summary>Parses a line that <see cref="LooksLikeExtent"/> accepted. <paramref name="where"/> names the descriptor and line.</summary>
    public static ExtentLine Parse(string trimmed, string where, long lineOffset, List<string> warnings)
    {
        var tokens = Tokenize(trimmed, where, lineOffset);
        if (tokens.Count < 3)
            throw new CorruptDataException(where, lineOffset, $"invalid extent line (need ACCESS SIZE TYPE): '{trimmed}'");
        var access = tokens[0].Text.ToUpperInvariant() switch
        {
            "RW" => ExtentAccess.ReadWrite,
            "RDONLY" => ExtentAccess.ReadOnly,
            _ => ExtentAccess.NoAccess,
        };
        if (tokens[1].Quoted || !long.TryParse(tokens[1].Text, NumberStyles.None, CultureInfo.InvariantCulture, out long size) || size < 0)
            throw new CorruptDataException(where, lineOffset, $"invalid extent size '{tokens[1].Text}'");
        string type = tokens[2].Text.ToUpperInvariant();
        string? file = null;
        long offset = 0;
        bool hasOffset = false;
        if (tokens.Count >= 4) file = tokens[3].Text;
        if (tokens.Count >= 5)
        {
            if (tokens[4].Quoted || !long.TryParse(tokens[4].Text, NumberStyles.None, CultureInfo.InvariantCulture, out offset) || offset < 0)
                throw new CorruptDataException(where, lineOffset, $"invalid extent offset '{tokens[4].Text}'");
            hasOffset = true;
        }
        if (tokens.Count > 5) warnings.Add($"{where}: extra tokens after the extent offset ignored: '{trimmed}'");
        return new ExtentLine(access, size, type, file, offset, hasOffset);
    }

    private readonly record struct Token(string Text, bool Quoted);

    private static List<Token> Tokenize(string line, string where, long lineOffset)
    {
        var tokens = new List<Token>(5);
        int i = 0;
        while (i < line.Length)
        {
            if (line[i] is ' ' or '\t') { i++; continue; }
            if (line[i] == '"')
            {
                int close = line.IndexOf('"', i + 1);
                if (close < 0) throw new CorruptDataException(where, lineOffset, $"unterminated quote in extent line: '{line}'");
                tokens.Add(new Token(line[(i + 1)..close], true));
                i = close + 1;
            }
            else
            {
                int start = i;
                while (i < line.Length && line[i] is not (' ' or '\t')) i++;
                tokens.Add(new Token(line[start..i], false));
            }
        }
        return tokens;
    }
}
