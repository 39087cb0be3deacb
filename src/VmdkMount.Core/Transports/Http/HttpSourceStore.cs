using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Transports.Http;

/// <summary>
/// The files of a chain on a web server: DISK is the `http(s)://` URL of its newest link, and parents and extents are
/// resolved against the URL of the file that names them (RFC 3986, <see cref="HttpUrl.EscapeRelative"/>), on the
/// same origin only. Names are redacted URLs (<see cref="HttpUrl.Redact"/>), so whatever the disk layer puts in a
/// message or in `info` is safe to show; the DISK's own query (a presigned URL's signature) and userinfo (sent as
/// Basic authorization) are kept here, for its requests only. A CID search works where the server lists folders
/// (an nginx autoindex, JSON or HTML); elsewhere it finds nothing and <see cref="WhyNotListed"/> says why.
/// </summary>
public sealed class HttpSourceStore : ISourceStore
{
    private readonly Uri _diskUri;
    private readonly Uri _origin;
    private readonly HttpRangeClient _client;
    private readonly RemoteFileCacheFactory _caches;
    private readonly ConcurrentDictionary<string, string> _notListed = new(StringComparer.Ordinal);

    /// <param name="disk">the DISK argument as typed (it may hold credentials and a query; neither is ever shown)</param>
    /// <param name="caches">makes the block cache in front of each file it opens (the layer above: the disk's budget)</param>
    public HttpSourceStore(string disk, RemoteOptions options, RemoteFileCacheFactory caches)
    {
        if (!HttpUrl.IsHttp(disk) || !Uri.TryCreate(disk, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
            throw new ArgumentException($"{HttpUrl.Redact(disk)}: not an http:// or https:// URL");
        if (uri.AbsolutePath.EndsWith('/'))
            throw new SourceUnavailableException(HttpUrl.Redact(disk), "is a folder URL (it ends with /), not a VMDK file");
        AuthenticationHeaderValue? basic = null;
        if (uri.UserInfo.Length > 0)
            basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(uri.UserInfo))));
        _diskUri = new Uri(uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.PathAndQuery, UriFormat.UriEscaped));
        _origin = new Uri(uri.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped));
        DiskName = HttpUrl.Redact(disk);
        _caches = caches;
        _client = new HttpRangeClient(_origin, options.Validated(), basic);
    }

    /// <summary>The DISK's name in this store: its redacted URL, what the opened disk shows as its source.</summary>
    public string DiskName { get; }

    public string FullName(string name) => HttpUrl.IsHttp(name) ? HttpUrl.Redact(name) : name;

    public string FolderOf(string name)
    {
        string path = WithoutQuery(name);
        int start = HttpUrl.IsHttp(path) ? path.IndexOf("://", StringComparison.Ordinal) + 3 : 0;
        int slash = path.LastIndexOf('/');
        return slash >= start ? path[..slash] : path;
    }

    public string Resolve(string relativeTo, string name)
    {
        // absolute names (a VMFS path, C:\..., another URL) stay themselves: not a name of this server, so Kind says
        // Missing and Open refuses; the callers then try the last component beside the child
        if (name.Length == 0 || HttpUrl.IsHttp(name) || name[0] is '/' or '\\' || (name.Length >= 2 && name[1] == ':')) return name;
        var baseUri = new Uri(WithoutQuery(relativeTo));
        return HttpUrl.Redact(new Uri(baseUri, HttpUrl.EscapeRelative(name)).AbsoluteUri);
    }

    public bool IsUnder(string name, string folder)
    {
        string f = folder.TrimEnd('/');
        return name.StartsWith(f + "/", StringComparison.Ordinal) && !name[(f.Length + 1)..].Split('/').Any(s => s is ".." or ".");
    }

    /// <summary>No redirect is followed, so a file is where its name says.</summary>
    public string RealFolderOf(string name) => FolderOf(name);

    public SourceEntryKind Kind(string name)
    {
        if (RequestUri(name) is not { } uri) return SourceEntryKind.Missing;
        bool folderUrl = uri.AbsolutePath.EndsWith('/');
        string shown = FullName(name);
        var kind = _client.Send($"{shown}: HEAD", () => _client.NewRequest(HttpMethod.Head, uri), (response, _) => Task.FromResult(KindOf(response, uri, folderUrl)));
        if (kind is not null) return kind.Value;
        // HEAD refused (a presigned GET URL signs the method): a one-byte ranged GET tells instead
        return _client.Send($"{shown}: probe", () =>
        {
            var request = _client.NewRequest(HttpMethod.Get, uri);
            request.Headers.Range = new RangeHeaderValue(0, 0);
            return request;
        }, (response, _) => Task.FromResult((int)response.StatusCode switch
        {
            200 or 206 or 416 => folderUrl ? SourceEntryKind.Folder : SourceEntryKind.RegularFile,
            404 or 410 => SourceEntryKind.Missing,
            _ => throw new SourceUnavailableException(shown, HttpFile.Refusal(response)),
        }));
    }

    /// <summary>What a HEAD answer says is there; null when HEAD itself was refused (403, 405, 501).</summary>
    private SourceEntryKind? KindOf(HttpResponseMessage response, Uri uri, bool folderUrl)
    {
        int status = (int)response.StatusCode;
        if (status is >= 200 and < 300) return folderUrl ? SourceEntryKind.Folder : SourceEntryKind.RegularFile;
        if (status is 404 or 410) return SourceEntryKind.Missing;
        if (status is 403 or 405) return null;
        if (status is >= 300 and < 400)
        {
            // nginx sends /dir to /dir/: a folder. Another redirect is left for the open to refuse by name.
            var target = response.Headers.Location is { } l ? new Uri(uri, l) : null;
            return target is not null && target.AbsolutePath.EndsWith('/') ? SourceEntryKind.Folder : SourceEntryKind.RegularFile;
        }
        throw new SourceUnavailableException(FullName(uri.AbsoluteUri), HttpFile.Refusal(response));
    }

    public IReadOnlyList<string> FilesBeside(string name)
    {
        string folder = FolderOf(name);
        if (RequestUri(folder + "/") is not { } uri) return [];
        List<string>? names;
        try
        {
            names = _client.Send($"{folder}/: list", () =>
            {
                var request = _client.NewRequest(HttpMethod.Get, uri);
                request.Headers.Accept.ParseAdd("application/json, text/html;q=0.9");
                return request;
            }, ReadListing);
        }
        catch (TransportException e)
        {
            _notListed[folder] = $"the folder listing could not be read: {e.Message}";
            return [];
        }
        if (names is null)
        {
            _notListed[folder] = $"the server does not list folders (GET {folder}/ gave no folder listing), so no CID search was possible";
            return [];
        }
        return names.Select(n => Resolve(folder + "/", n)).ToList();
    }

    private static async Task<List<string>?> ReadListing(HttpResponseMessage response, CancellationToken token)
    {
        if (response.StatusCode != HttpStatusCode.OK) return null;
        if (response.Content.Headers.ContentLength > FolderListing.MaxBytes) return null;
        await using var body = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
        var buffer = new MemoryStream();
        byte[] chunk = new byte[64 * 1024];
        // bounded by MaxBytes: a listing that never ends is cut, and then not trusted
        while (buffer.Length <= FolderListing.MaxBytes)
        {
            int n = await body.ReadAsync(chunk, token).ConfigureAwait(false);
            if (n == 0) return FolderListing.Parse(response.Content.Headers.ContentType?.MediaType, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
            buffer.Write(chunk, 0, n);
        }
        return null;
    }

    public string? WhyNotListed(string name) => _notListed.TryGetValue(FolderOf(name), out var why) ? why : null;

    /// <summary>A file's identity is its canonical (redacted) URL: the server has no inode to show.</summary>
    public SourceIdentity Identity(string name) => new(0, 0, FullName(name));

    public ISourceFile Open(string name)
    {
        if (RequestUri(name) is not { } uri)
            throw new SourceUnavailableException(FullName(name), $"not a file of {_origin.GetLeftPart(UriPartial.Authority)}: refused (a remote chain reads only from its own server)");
        return HttpFile.Open(_client, uri, FullName(name), _caches);
    }

    /// <summary>What to request for a name: the DISK's own URL (query kept) for the DISK, else the name itself when it is on this origin.</summary>
    private Uri? RequestUri(string name)
    {
        if (name == DiskName) return _diskUri;
        if (!HttpUrl.IsHttp(name) || !Uri.TryCreate(name, UriKind.Absolute, out var uri)) return null;
        if (uri.Scheme != _origin.Scheme || !string.Equals(uri.Authority, _origin.Authority, StringComparison.OrdinalIgnoreCase)) return null;
        // only the DISK may carry a query: a redacted one cannot be sent
        return uri.Query.Length > 0 || uri.UserInfo.Length > 0 ? null : uri;
    }

    private static string WithoutQuery(string name)
    {
        int q = name.IndexOfAny(['?', '#']);
        return q < 0 ? name : name[..q];
    }
}
