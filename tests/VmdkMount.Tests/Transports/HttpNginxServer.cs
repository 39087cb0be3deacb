using System.Diagnostics;
using System.Net.Sockets;

namespace VmdkMount.Tests.Transports;

/// <summary>
/// A real nginx started by a test in the foreground (`daemon off`) on 127.0.0.1 and a free port, with its own prefix,
/// configuration, pid and logs under a scratch folder, serving <see cref="Root"/>. Dispose stops that nginx (its
/// master and its worker, by their ids), also when the test failed. Locations every test may use:
/// `/` (plain), `/list/` (autoindex, JSON), `/html/` (autoindex, HTML), `/norange/` (`max_ranges 0`: 200 to a
/// Range), `/bearer/` (401 unless `Authorization: Bearer t`), `/slow/` (4 MB/s a response).
/// </summary>
public sealed class HttpNginxServer : IDisposable
{
    private readonly string _prefix;
    private readonly string _conf;
    private Process _process = null!;
    private Task<string> _stderr = null!;

    private HttpNginxServer(string scratch, string root, int port, string? tlsDir)
    {
        _prefix = Path.Combine(scratch, "nginx");
        Directory.CreateDirectory(Path.Combine(_prefix, "logs"));
        Directory.CreateDirectory(Path.Combine(_prefix, "tmp"));
        Root = root;
        Port = port;
        TlsPort = tlsDir is null ? 0 : NbdServer.FreePort();
        string tls = tlsDir is null ? "" : $$"""
                server {
                    listen 127.0.0.1:{{TlsPort}} ssl http2;
                    ssl_certificate {{tlsDir}}/server-cert.pem;
                    ssl_certificate_key {{tlsDir}}/server-key.pem;
                    root {{root.TrimEnd('/')}};
                }
            """;
        _conf = Path.Combine(_prefix, "nginx.conf");
        string p = _prefix, r = root.TrimEnd('/');
        File.WriteAllText(_conf, $$"""
            worker_processes 1;
            user root;
            pid {{p}}/logs/nginx.pid;
            error_log {{p}}/logs/error.log warn;
            events { worker_connections 512; }
            http {
                log_format conn '$remote_addr c=$connection n=$connection_requests "$request" $status $body_bytes_sent range="$http_range" auth="$http_authorization"';
                access_log {{p}}/logs/access.log conn;
                client_body_temp_path {{p}}/tmp; proxy_temp_path {{p}}/tmp; fastcgi_temp_path {{p}}/tmp;
                uwsgi_temp_path {{p}}/tmp; scgi_temp_path {{p}}/tmp;
                types { }
                default_type application/octet-stream;
                sendfile on;
                server {
                    listen 127.0.0.1:{{port}};
                    root {{r}};
                    location /list/    { alias {{r}}/; autoindex on; autoindex_format json; }
                    location /html/    { alias {{r}}/; autoindex on; }
                    location /norange/ { alias {{r}}/; max_ranges 0; }
                    location /bearer/  { alias {{r}}/; if ($http_authorization != "Bearer t") { return 401; } }
                    location /slow/    { alias {{r}}/; limit_rate 4m; }
                }
            {{tls}}
            }
            """);
        Launch();
    }

    public string Root { get; }

    public int Port { get; }

    /// <summary>The HTTPS (HTTP/2) port when started with certificates, else 0.</summary>
    public int TlsPort { get; }

    /// <summary>The https:// URL of a path, on <see cref="TlsPort"/> (host 127.0.0.1, which the test certificate names).</summary>
    public string TlsUrl(string escapedPath) => $"https://127.0.0.1:{TlsPort}/{escapedPath.TrimStart('/')}";

    public string AccessLog => Path.Combine(_prefix, "logs", "access.log");

    /// <summary>The URL of a path under the server (give it escaped: `vm%201/disk.vmdk`).</summary>
    public string Url(string escapedPath) => $"http://127.0.0.1:{Port}/{escapedPath.TrimStart('/')}";

    /// <summary>
    /// nginx serving <paramref name="root"/>; its files live under <paramref name="scratch"/>/nginx. With
    /// <paramref name="tlsDir"/> (server-cert.pem, server-key.pem) it serves HTTPS with HTTP/2 on <see cref="TlsPort"/> too.
    /// </summary>
    public static HttpNginxServer Start(string scratch, string root, string? tlsDir = null)
    {
        int port = NbdServer.FreePort();
        return new HttpNginxServer(scratch, root, port, tlsDir);
    }

    private void Launch()
    {
        var psi = new ProcessStartInfo("nginx") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-p", _prefix, "-c", _conf, "-e", Path.Combine(_prefix, "logs", "error.log"), "-g", "daemon off;" }) psi.ArgumentList.Add(a);
        _process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start nginx");
        _stderr = _process.StandardError.ReadToEndAsync();
        _ = _process.StandardOutput.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"nginx exited {_process.ExitCode}: {_stderr.Result} {File.ReadAllText(Path.Combine(_prefix, "logs", "error.log"))}");
            if (Accepts()) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("nginx is not listening after 20 s");
            Thread.Sleep(50);
        }
    }

    private bool Accepts()
    {
        try
        {
            using var c = new TcpClient();
            c.Connect("127.0.0.1", Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>SIGKILL of the master and its workers (found as its children), as a crash would.</summary>
    public void Kill()
    {
        if (_process is null || _process.HasExited) return;
        var workers = Children(_process.Id);
        try
        {
            _process.Kill();
        }
        catch (InvalidOperationException)
        {
        }
        foreach (int w in workers)
        {
            try
            {
                using var worker = Process.GetProcessById(w);
                worker.Kill();
                worker.WaitForExit(10_000);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
            }
        }
        _process.WaitForExit(10_000);
    }

    /// <summary>Kill, then the same command on the same port, as an operator restarting it would.</summary>
    public void Restart()
    {
        Kill();
        _process.Dispose();
        Launch();
    }

    private static List<int> Children(int pid)
    {
        string file = $"/proc/{pid}/task/{pid}/children";
        if (!File.Exists(file)) return [];
        return File.ReadAllText(file).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
    }

    /// <summary>Lines of the access log that contain each of <paramref name="texts"/>.</summary>
    public int CountRequests(params string[] texts) =>
        File.Exists(AccessLog) ? File.ReadLines(AccessLog).Count(l => texts.All(t => l.Contains(t, StringComparison.Ordinal))) : 0;

    public void Dispose()
    {
        if (_process is null) return;
        Kill();
        _process.Dispose();
    }
}
