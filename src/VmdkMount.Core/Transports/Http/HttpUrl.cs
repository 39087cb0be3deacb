using System.Text;

namespace VmdkMount.Core.Transports.Http;

/// <summary>
/// URL spelling for the HTTP(S) store (transports.md 6.6, 6.7): which DISK arguments are URLs, the one redaction that
/// every shown URL goes through (no userinfo, no query values, no fragment), and the escaping of descriptor file names
/// (plain names, not URI references) into path segments, exactly once.
/// </summary>
public static class HttpUrl
{
    /// <summary>What stands for a query value that is not shown (a presigned URL's signature, a SAS token).</summary>
    public const string Hidden = "<redacted>";

    public static bool IsHttp(string source) =>
        source.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || source.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A URL as it may be shown: scheme, host, port and escaped path; the names of query keys with their values
    /// hidden; never the userinfo (`user:pass@`) or the fragment. Idempotent. Text that is not an http(s) URL comes
    /// back unchanged.
    /// </summary>
    public static string Redact(string url)
    {
        if (!IsHttp(url) || !Uri.TryCreate(url, UriKind.Absolute, out var uri)) return RedactUnparsed(url);
        var shown = new StringBuilder(uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped));
        string query = uri.GetComponents(UriComponents.Query, UriFormat.UriEscaped);
        if (query.Length > 0)
        {
            char separator = '?';
            foreach (string pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = pair.IndexOf('=', StringComparison.Ordinal);
                string key = eq < 0 ? pair : pair[..eq];
                shown.Append(separator).Append(key).Append('=').Append(Hidden);
                separator = '&';
            }
        }
        return shown.ToString();
    }

    /// <summary>
    /// Every http(s) URL inside <paramref name="text"/> (a message, a log line) redacted, for the last line of defence
    /// where text leaves the program. A URL ends at white space or a quote.
    /// </summary>
    public static string RedactText(string text)
    {
        int at = IndexOfScheme(text, 0);
        if (at < 0) return text;
        var result = new StringBuilder(text.Length);
        int copied = 0;
        // each pass consumes at least the scheme, so the loop ends within text.Length passes
        while (at >= 0)
        {
            int end = at;
            while (end < text.Length && !char.IsWhiteSpace(text[end]) && text[end] is not ('"' or '\'' or '`')) end++;
            // a message goes on after a URL with ": why" or ", ...": that punctuation is the message's, not the URL's
            while (end > at && text[end - 1] is ':' or ',' or ';' or ')' or '.') end--;
            result.Append(text, copied, at - copied).Append(Redact(text[at..end]));
            copied = end;
            at = IndexOfScheme(text, end);
        }
        return result.Append(text, copied, text.Length - copied).ToString();
    }

    private static int IndexOfScheme(string text, int from)
    {
        int http = text.IndexOf("http://", from, StringComparison.OrdinalIgnoreCase);
        int https = text.IndexOf("https://", from, StringComparison.OrdinalIgnoreCase);
        return http < 0 ? https : https < 0 ? http : Math.Min(http, https);
    }

    /// <summary>A URL that does not parse is still shown without what could be a secret: up to its host, userinfo cut.</summary>
    private static string RedactUnparsed(string url)
    {
        if (!IsHttp(url)) return url;
        int start = url.IndexOf("://", StringComparison.Ordinal) + 3;
        int stop = url.IndexOfAny(['?', '#'], start);
        string head = stop < 0 ? url : url[..stop];
        int slash = head.IndexOf('/', start);
        int at = head.LastIndexOf('@', slash < 0 ? head.Length - 1 : slash);
        if (at >= start) head = head[..start] + head[(at + 1)..];
        return stop < 0 ? head : head + "?" + Hidden;
    }

    /// <summary>
    /// A file name from a descriptor (extent name, parent hint; `/`-separated) as a relative reference: `.` and `..`
    /// kept, every other segment escaped once, so `#`, `%`, `?`, spaces and non-ASCII letters stay part of the name.
    /// </summary>
    public static string EscapeRelative(string name)
    {
        var segments = name.Split('/');
        for (int i = 0; i < segments.Length; i++)
            if (segments[i] is not ("." or ".."))
                segments[i] = Uri.EscapeDataString(segments[i]);
        // EscapeDataString escapes ':' too, so no first segment can read as a scheme
        return string.Join('/', segments);
    }
}
