using System.Net;
using System.Net.Http.Headers;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Transports.Http;

/// <summary>
/// One remote file read by HTTP range requests through the cache the store was given (<see cref="IRemoteFileCache"/>). The open is one ranged GET of
/// the first block (transports.md 6.3): it proves the server does ranges, gives the length (from Content-Range) and
/// the validator, a strong ETag or else Last-Modified, which every later request sends as a precondition (If-Match,
/// If-Unmodified-Since) and checks in the answer: a backup that changes while it is read is an error, never a mix
/// of two versions. A 200 to a ranged GET is never read.
/// </summary>
internal sealed class HttpFile : ISourceFile
{
    private readonly HttpRangeClient _client;
    private readonly Uri _uri;
    private readonly EntityTagHeaderValue? _etag;
    private readonly DateTimeOffset? _lastModified;
    private readonly IRemoteFileCache _cache;

    private HttpFile(HttpRangeClient client, Uri uri, string name, long length, EntityTagHeaderValue? etag, DateTimeOffset? lastModified, RemoteFileCacheFactory caches)
    {
        _client = client;
        _uri = uri;
        Name = name;
        _etag = etag;
        _lastModified = lastModified;
        var wait = client.Options.Timeout * 2 + TimeSpan.FromSeconds(30);
        _cache = caches(name, length, FetchBlocks, FetchInto, client.Options.MaxRequestBytes, wait);
    }

    public string Name { get; }

    /// <summary>Redirects are not followed, so the file is where its name says.</summary>
    public string RealName => Name;

    public long Length => _cache.Length;

    /// <summary>Range requests sent after the open (for tests).</summary>
    public int Requests => _cache.Requests;

    /// <param name="uri">what is requested (the DISK's own query kept)</param>
    /// <param name="name">the redacted spelling every message shows</param>
    public static HttpFile Open(HttpRangeClient client, Uri uri, string name, RemoteFileCacheFactory caches)
    {
        var probe = client.Send($"{name}: open", () => Ranged(client, uri, 0, RemoteBlocks.Size - 1, null, null),
            (response, token) => ReadProbe(response, name, token));
        var file = new HttpFile(client, uri, name, probe.Length, probe.ETag, probe.LastModified, caches);
        if (probe.First.Length > 0) file._cache.Seed(0, [probe.First]);
        return file;
    }

    public int ReadAt(long offset, Span<byte> destination) => _cache.ReadAt(offset, destination);

    public void Dispose() => _cache.Dispose();

    public override string ToString() => Name;

    private static HttpRequestMessage Ranged(HttpRangeClient client, Uri uri, long first, long last, EntityTagHeaderValue? etag, DateTimeOffset? lastModified)
    {
        var request = client.NewRequest(HttpMethod.Get, uri);
        request.Headers.Range = new RangeHeaderValue(first, last);
        if (etag is not null) request.Headers.IfMatch.Add(etag);
        else if (lastModified is { } date) request.Headers.IfUnmodifiedSince = date;
        return request;
    }

    private sealed record Probe(long Length, EntityTagHeaderValue? ETag, DateTimeOffset? LastModified, byte[] First);

    private static async Task<Probe> ReadProbe(HttpResponseMessage response, string name, CancellationToken token)
    {
        var etag = response.Headers.ETag is { IsWeak: false } strong ? strong : null;
        var date = etag is null ? response.Content.Headers.LastModified : null;
        switch (response.StatusCode)
        {
            case HttpStatusCode.PartialContent:
            {
                RefuseEncoding(response, name);
                var range = response.Content.Headers.ContentRange;
                if (range is not { From: 0, To: { } to, Length: { } total } || to >= total)
                    throw new SourceUnavailableException(name, $"the answer to a range request has no usable Content-Range ({range})");
                var first = new byte[(int)(to + 1)];
                await using var body = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
                await body.ReadExactlyAsync(first, token).ConfigureAwait(false);
                return new Probe(total, etag, date, first);
            }
            case HttpStatusCode.OK when response.Content.Headers.ContentLength == 0:
                return new Probe(0, etag, date, []);   // nginx answers an empty file so
            case HttpStatusCode.RequestedRangeNotSatisfiable when response.Content.Headers.ContentRange is { Length: 0 }:
                return new Probe(0, etag, date, []);
            case HttpStatusCode.OK:
                throw new SourceUnavailableException(name,
                    "the server answered a Range request with 200 and the whole file: it does not support range requests; refused (a remote VMDK is read by ranges, never from the start)");
            default:
                throw new SourceUnavailableException(name, Refusal(response));
        }
    }

    /// <summary>Why a final answer is not data, for a message (status, and what the user can do).</summary>
    internal static string Refusal(HttpResponseMessage response)
    {
        int status = (int)response.StatusCode;
        string what = $"HTTP {status} {response.ReasonPhrase}";
        return status switch
        {
            401 => $"{what}: give credentials with --header 'Authorization: ...'",
            403 => $"{what}: no access (or a presigned URL that expired)",
            404 or 410 => $"{what}: not found",
            >= 300 and < 400 => $"{what}: redirects to {HttpUrl.Redact(response.Headers.Location?.ToString() ?? "?")}, not followed (give the final URL)",
            _ => what,
        };
    }

    private static void RefuseEncoding(HttpResponseMessage response, string name)
    {
        if (response.Content.Headers.ContentEncoding.Count > 0)
            throw new TransportException($"{name}: the server sent the bytes content-coded ({string.Join(",", response.Content.Headers.ContentEncoding)}); ranges need them as stored");
    }

    private byte[][] FetchBlocks(long firstBlock, int count)
    {
        long first = firstBlock * RemoteBlocks.Size;
        long last = Math.Min(Length, first + (long)count * RemoteBlocks.Size) - 1;
        string what = $"{Name}: read {last - first + 1} bytes at {first} (bytes={first}-{last})";
        return _client.Send(what, () => Ranged(_client, _uri, first, last, _etag, _lastModified),
            (response, token) => ReadBlocks(response, what, first, last, count, token));
    }

    private void FetchInto(long first, Span<byte> destination)
    {
        long last = first + destination.Length - 1;
        string what = $"{Name}: read {destination.Length} bytes at {first} (bytes={first}-{last})";
        // the buffer stays pinned until Send returns, and no attempt outlives Send: the body is read straight into it
        unsafe
        {
            fixed (byte* start = destination)
            {
                using var pinned = new PinnedMemory(start, destination.Length);
                SendInto(what, first, last, pinned.Memory);
            }
        }
    }

    private void SendInto(string what, long first, long last, Memory<byte> memory) =>
        _client.Send(what, () => Ranged(_client, _uri, first, last, _etag, _lastModified), (response, token) => ReadInto(response, what, first, last, memory, token));

    private async Task<bool> ReadInto(HttpResponseMessage response, string what, long first, long last, Memory<byte> memory, CancellationToken token)
    {
        CheckRange(response, what, first, last);
        await using var body = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
        // a short body throws EndOfStreamException, an IOException: the request is tried again
        await body.ReadExactlyAsync(memory, token).ConfigureAwait(false);
        return true;
    }

    private async Task<byte[][]> ReadBlocks(HttpResponseMessage response, string what, long first, long last, int count, CancellationToken token)
    {
        CheckRange(response, what, first, last);
        var blocks = new byte[count][];
        await using var body = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
        long at = first;
        for (int i = 0; i < count; i++)
        {
            // filled whole by the read below, and kept by the cache for long: no zeroing, and on the pinned heap,
            // where the GC never copies it as it ages
            blocks[i] = GC.AllocateUninitializedArray<byte>((int)Math.Min(RemoteBlocks.Size, last + 1 - at), pinned: true);
            // a short body throws EndOfStreamException, an IOException: the request is tried again
            await body.ReadExactlyAsync(blocks[i], token).ConfigureAwait(false);
            at += blocks[i].Length;
        }
        return blocks;
    }

    /// <summary>Throws unless the answer is the 206 of exactly [first, last] of the file as it was opened.</summary>
    private void CheckRange(HttpResponseMessage response, string what, long first, long last)
    {
        int status = (int)response.StatusCode;
        if (status == 412 || status is 404 or 410)
            throw Changed(what, $"HTTP {status} {response.ReasonPhrase}");
        if (status == 200)
            throw new TransportException($"{what}: the server answered 200 (the whole file) to a Range request: it no longer does ranges; refused");
        if (status == 416)
            throw Changed(what, $"HTTP 416: the range is past the end now (length {response.Content.Headers.ContentRange?.Length})");
        if (status != 206)
            throw new TransportException($"{what}: {Refusal(response)}");
        RefuseEncoding(response, what);
        var range = response.Content.Headers.ContentRange;
        if (range?.Length is { } total && total != Length)
            throw Changed(what, $"its length is {total} bytes now, not {Length}");
        if (range is null || range.From != first || range.To != last)
            throw new TransportException($"{what}: the server answered another range ({range})");
        if (_etag is not null && response.Headers.ETag is { } tag && tag.Tag != _etag.Tag)
            throw Changed(what, $"its ETag is {tag.Tag} now, not {_etag.Tag}");
        if (_etag is null && _lastModified is { } was && response.Content.Headers.LastModified is { } now && now != was)
            throw Changed(what, $"its Last-Modified is {now:R} now, not {was:R}");
    }

    private TransportException Changed(string what, string how) =>
        new($"{what}: the file changed while being read ({how}): not a backup; refused");

    /// <summary>A pinned span seen as <see cref="Memory{T}"/>, so the async body read can fill the caller's buffer.</summary>
    private sealed unsafe class PinnedMemory(byte* start, int length) : System.Buffers.MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(start, length);

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => new(start + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
