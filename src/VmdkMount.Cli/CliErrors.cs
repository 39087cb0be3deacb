using System.Text.Json;
using VmdkMount.Core.Errors;

namespace VmdkMount.Cli;

/// <summary>
/// How a failed command reports: one `vmdkmount: message` line on stderr (and `vmdkmount: hint: ...` where the engine
/// knows what to try), and, when the command was asked for `--json`, the same as one document on stdout,
/// `{"error": {"message": "...", "code": "...", "hint": "..."}}`, so a script reading stdout always gets JSON.
/// </summary>
internal static class CliErrors
{
    /// <summary>Set once the command line is parsed: the command was given --json.</summary>
    public static bool Json { get; set; }

    /// <summary>A stable word for what went wrong (the JSON `code`).</summary>
    public static string CodeOf(Exception e) => e switch
    {
        PathNotFoundException => "not-found",
        CorruptDataException or ChainException => "corrupt",
        UnsupportedFeatureException or FileReadException => "unsupported",
        SourceUnavailableException => "unavailable",
        ContractViolationException => "internal",
        ArgumentException => "usage",
        IOException => "io",
        _ => "error",
    };

    public static void Report(string message, string code, string? hint = null)
    {
        // no credentials or presigned query values leave the program, on stderr or in the JSON
        message = CliCommon.Shown(message);
        if (hint is not null) hint = CliCommon.Shown(hint);
        Console.Error.WriteLine($"vmdkmount: {message}");
        if (hint is not null) Console.Error.WriteLine($"vmdkmount: hint: {hint}");
        if (!Json) return;
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", message);
            w.WriteString("code", code);
            if (hint is not null) w.WriteString("hint", hint);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        stdout.WriteByte((byte)'\n');
    }

    public static void Report(Exception e, string? prefix = null) =>
        Report(prefix + e.Message, CodeOf(e), (e as VmdkMountException)?.Hint);
}
