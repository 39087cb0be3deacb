using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Authentication;

namespace VmdkMount.Core.Transports.Http;

/// <summary>
/// Sends the requests of one HTTP(S) store: keep-alive pooled connections (HTTP/2 where TLS offers it), the user's
/// headers on every request, a per-attempt timeout, and retries with backoff on what can pass (connection failures,
/// timeouts, short bodies, 408, 429, 5xx; transports.md section 8). Redirects are never followed: .NET drops
/// `Authorization` on them, and a redirect could lead off the origin. Every message names the redacted URL.
/// </summary>
internal sealed class HttpRangeClient
{
    // One pool per origin and trust: connections are shared by every store and file that reaches the same server, so
    // opening many disks does not pile up idle connections on it.
    private static readonly ConcurrentDictionary<string, (HttpClient Client, TlsTrust? Trust)> Clients = new(StringComparer.Ordinal);

    private readonly HttpClient _client;
    private readonly TlsTrust? _trust;
    private readonly RemoteOptions _options;
    private readonly AuthenticationHeaderValue? _basic;

    public HttpRangeClient(Uri origin, RemoteOptions options, AuthenticationHeaderValue? basic)
    {
        _options = options;
        _basic = basic;
        string key = $"{origin.Scheme}://{origin.Authority}|{options.Thumbprint}|{options.CaFile}|{options.Timeout.Ticks}";
        (_client, _trust) = Clients.GetOrAdd(key, _ => Create(origin, options));
    }

    public RemoteOptions Options => _options;

    private static (HttpClient, TlsTrust?) Create(Uri origin, RemoteOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),   // below nginx's 75 s idle close
            MaxConnectionsPerServer = 8,
            ConnectTimeout = options.Timeout < TimeSpan.FromSeconds(10) ? options.Timeout : TimeSpan.FromSeconds(10),
            EnableMultipleHttp2Connections = true,
        };
        TlsTrust? trust = null;
        if (origin.Scheme == Uri.UriSchemeHttps)
        {
            trust = new TlsTrust(HttpUrl.Redact(origin.AbsoluteUri), options);
            handler.SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = trust.Validate };
        }
        else if (options.Thumbprint is not null || options.CaFile is not null)
        {
            throw new ArgumentException($"{HttpUrl.Redact(origin.AbsoluteUri)}: --thumbprint and --ca are for TLS: use https://");
        }
        return (new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan }, trust);
    }

    /// <summary>A request with the user's headers, no content coding, and HTTP/2 offered (TLS negotiates it; plain HTTP stays 1.1).</summary>
    public HttpRequestMessage NewRequest(HttpMethod method, Uri uri)
    {
        var request = new HttpRequestMessage(method, uri) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower };
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
        if (_basic is not null) request.Headers.Authorization = _basic;
        foreach (var (name, value) in _options.Headers)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }
        return request;
    }

    /// <summary>
    /// Sends a request made by <paramref name="make"/> and hands the response (headers read, body not yet) to
    /// <paramref name="read"/>, within one attempt's time; what fails in a way that may pass is tried again, up to
    /// --retries times and --timeout in all. <paramref name="read"/> throws <see cref="TransportException"/> for a final
    /// answer (the source changed, 404...) and <see cref="IOException"/> for a short body, which is retried.
    /// </summary>
    public T Send<T>(string what, Func<HttpRequestMessage> make, Func<HttpResponseMessage, CancellationToken, Task<T>> read) =>
        SendAsync(what, make, read).GetAwaiter().GetResult();

    private async Task<T> SendAsync<T>(string what, Func<HttpRequestMessage> make, Func<HttpResponseMessage, CancellationToken, Task<T>> read)
    {
        long started = Environment.TickCount64;
        long giveUpAt = started + (long)_options.Timeout.TotalMilliseconds;
        string? lastError = null;
        for (int attempt = 0; ; attempt++)
        {
            long left = giveUpAt - Environment.TickCount64;
            TimeSpan? retryAfter = null;
            using (var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(Math.Max(100, left))))
            using (var request = make())
            {
                try
                {
                    using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                    int status = (int)response.StatusCode;
                    if (status is 408 or 429 or >= 500)
                    {
                        lastError = $"HTTP {status} {response.ReasonPhrase}";
                        retryAfter = RetryAfter(response);
                    }
                    else
                    {
                        return await read(response, timeout.Token).ConfigureAwait(false);
                    }
                }
                catch (TransportException)
                {
                    throw;
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested)
                {
                    lastError = $"no answer within {Seconds(left)} (--timeout)";
                }
                catch (HttpRequestException e) when (e.InnerException is AuthenticationException && _trust?.Rejection is { } why)
                {
                    throw new TransportException($"{what}: TLS: {why}", e);
                }
                catch (Exception e) when (e is HttpRequestException or IOException)
                {
                    lastError = Describe(e);
                }
            }
            long remaining = giveUpAt - Environment.TickCount64;
            if (attempt >= _options.Retries || remaining <= 0)
            {
                string why = attempt >= _options.Retries ? "" : $", the --timeout of {Seconds(_options.Timeout.TotalMilliseconds)} being spent";
                throw new TransportException($"{what} failed after {attempt + 1} attempt{(attempt == 0 ? "" : "s")}{why}: {lastError}", connectionLost: true);
            }
            long backoff = Math.Min(5000, 200L << Math.Min(attempt, 5));
            if (retryAfter is { } ra) backoff = Math.Max(backoff, (long)Math.Min(ra.TotalMilliseconds, 5000));
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(0, Math.Min(backoff, remaining)))).ConfigureAwait(false);
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter is { } r ? r.Delta ?? (r.Date is { } d ? d - DateTimeOffset.UtcNow : null) : null;

    private static string Seconds(double milliseconds) => $"{milliseconds / 1000:0.###} s";

    /// <summary>The innermost useful reason (connection refused, reset, end of stream), without any URL .NET may add.</summary>
    private static string Describe(Exception e)
    {
        var inner = e;
        // bounded: exception chains are short, and a cycle is impossible in .NET's InnerException
        for (int i = 0; i < 8 && inner.InnerException is not null; i++) inner = inner.InnerException;
        string text = inner == e ? e.Message : $"{e.Message} ({inner.Message})";
        return HttpUrl.RedactText(text);
    }
}
