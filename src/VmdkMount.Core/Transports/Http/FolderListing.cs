using System.Text.Json;
using System.Text.RegularExpressions;

namespace VmdkMount.Core.Transports.Http;

/// <summary>
/// The file names of a folder listing a web server generates: nginx `autoindex_format json` (an array of
/// `{"name", "type"}`), or an HTML index (nginx, Apache, lighttpd: one `href` per entry). Only plain names of the
/// folder itself count: subfolders, parent links, sort links and absolute references are left out.
/// </summary>
internal static partial class FolderListing
{
    /// <summary>Bound on the listing read: a folder of a backup holds hundreds of files, not millions.</summary>
    public const int MaxBytes = 16 << 20;

    /// <summary>Bound on the names taken from one listing.</summary>
    public const int MaxNames = 100_000;

    /// <summary>The names, decoded (as the files are called, not as URLs spell them); null when the body is no listing.</summary>
    public static List<string>? Parse(string? mediaType, ReadOnlySpan<byte> body)
    {
        if (mediaType is not null && mediaType.Contains("json", StringComparison.OrdinalIgnoreCase)) return ParseJson(body);
        if (mediaType is not null && mediaType.Contains("html", StringComparison.OrdinalIgnoreCase)) return ParseHtml(System.Text.Encoding.UTF8.GetString(body));
        return null;
    }

    private static List<string>? ParseJson(ReadOnlySpan<byte> body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body.ToArray());
            if (doc.RootElement.ValueKind != JsonValueKind.Array) return null;
            var names = new List<string>();
            foreach (var entry in doc.RootElement.EnumerateArray())
            {
                if (names.Count >= MaxNames) break;
                if (entry.ValueKind != JsonValueKind.Object) continue;
                if (entry.TryGetProperty("type", out var type) && type.GetString() != "file") continue;
                if (entry.TryGetProperty("name", out var name) && name.GetString() is { Length: > 0 } n && !n.Contains('/')) names.Add(n);
            }
            return names;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static List<string> ParseHtml(string html)
    {
        var names = new List<string>();
        foreach (Match m in Href().Matches(html))
        {
            if (names.Count >= MaxNames) break;
            string href = System.Net.WebUtility.HtmlDecode(m.Groups[1].Value);
            if (href.Length == 0 || href.Contains('/') || href.Contains(':') || href[0] is '?' or '#') continue;
            names.Add(Uri.UnescapeDataString(href));
        }
        return names;
    }

    [GeneratedRegex("""<a\s[^>]*?href\s*=\s*["']([^"']*)["']""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Href();
}
