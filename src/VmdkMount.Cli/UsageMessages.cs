using System.Text.RegularExpressions;

namespace VmdkMount.Cli;

/// <summary>
/// The command-line parser's messages in the words of this tool: no .NET type names. "Cannot parse argument 'bob' for
/// option '--uid' as expected type 'System.Nullable`1[System.UInt32]'" becomes "--uid takes a number, not 'bob'".
/// </summary>
internal static partial class UsageMessages
{
    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*)' for (?:option|command) '(?<name>[^']*)' as expected type '(?<type>[^']*)'\.?$")]
    private static partial Regex CannotParse();

    public static string Humanize(string message)
    {
        var m = CannotParse().Match(message);
        if (!m.Success) return message;
        string type = m.Groups["type"].Value, name = m.Groups["name"].Value, value = m.Groups["value"].Value;
        string what = type switch
        {
            _ when type.Contains("UInt", StringComparison.Ordinal) => "a whole number, 0 or more",
            _ when type.Contains("Int", StringComparison.Ordinal) => "a whole number",
            _ when type.Contains("Boolean", StringComparison.Ordinal) => "true or false",
            _ when type.Contains("Double", StringComparison.Ordinal) || type.Contains("Single", StringComparison.Ordinal) => "a number",
            _ => "another kind of value",
        };
        return $"{name} takes {what}, not '{value}'";
    }
}
