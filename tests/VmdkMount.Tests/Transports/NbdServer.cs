using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace VmdkMount.Tests.Transports;

/// <summary>
/// A real NBD server (qemu-nbd or nbdkit) started by a test in the foreground, on 127.0.0.1 or a unix socket in a
/// temporary folder, and killed (only that process) in Dispose, also when the test failed.
/// </summary>
internal sealed class NbdServer : IDisposable
{
    private readonly string _program;
    private readonly List<string> _args;
    private readonly string? _socketDir;
    private Process _process = null!;
    private Task<string> _stderr = null!;

    private NbdServer(string program, List<string> args, int port, string? socketDir)
    {
        _program = program;
        _args = args;
        Port = port;
        _socketDir = socketDir;
    }

    private void Launch()
    {
        var psi = new ProcessStartInfo(_program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in _args) psi.ArgumentList.Add(a);
        _process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {_program}");
        _stderr = _process.StandardError.ReadToEndAsync();
        _ = _process.StandardOutput.ReadToEndAsync();
        WaitListening(_program, _args);
    }

    /// <summary>The same command again, on the same port (after <see cref="Kill"/>), as an operator restarting it would.</summary>
    public void Restart()
    {
        Kill();
        _process.Dispose();
        if (SocketPath is { } s && File.Exists(s)) File.Delete(s);
        Launch();
    }

    public int Port { get; }

    public string? SocketPath => _socketDir is null ? null : Path.Combine(_socketDir, "nbd.sock");

    public int Pid => _process.Id;

    /// <summary>The URI of an export of this server (`nbd://127.0.0.1:PORT/NAME` or `nbd+unix:///NAME?socket=...`).</summary>
    public string Uri(string export = "", bool tls = false) => SocketPath is { } s
        ? $"nbd{(tls ? "s" : "")}+unix:///{System.Uri.EscapeDataString(export)}?socket={s}"
        : $"nbd{(tls ? "s" : "")}://127.0.0.1:{Port}/{System.Uri.EscapeDataString(export)}";

    /// <summary>qemu-nbd -r -t serving <paramref name="image"/> as export <paramref name="export"/> (format raw unless told).</summary>
    public static NbdServer Qemu(string image, string export = "disk", string format = "raw", bool unix = false, params string[] extra)
    {
        string? dir = unix ? NewSocketDir() : null;
        int port = unix ? 0 : FreePort();
        var args = new List<string> { "-r", "-t", "-e", "8", "-f", format, "-x", export };
        if (unix) args.AddRange(["-k", Path.Combine(dir!, "nbd.sock")]);
        else args.AddRange(["-b", "127.0.0.1", "-p", port.ToString()]);
        args.AddRange(extra);
        args.Add(image);
        return Start("qemu-nbd", args, port, dir);
    }

    /// <summary>nbdkit -r -f on 127.0.0.1 (filters and plugin with its parameters in <paramref name="pluginArgs"/>).</summary>
    public static NbdServer Nbdkit(params string[] pluginArgs)
    {
        int port = FreePort();
        var args = new List<string> { "-r", "-f", "--exit-with-parent", "-i", "127.0.0.1", "-p", port.ToString() };
        args.AddRange(pluginArgs);
        return Start("nbdkit", args, port, null);
    }

    private static NbdServer Start(string program, List<string> args, int port, string? socketDir)
    {
        var server = new NbdServer(program, args, port, socketDir);
        try
        {
            server.Launch();
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private void WaitListening(string program, List<string> args)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {_process.ExitCode}: {_stderr.Result}");
            if (SocketPath is { } s ? File.Exists(s) : Listening(Port)) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{program} is not listening after 20 s");
            Thread.Sleep(50);
        }
    }

    /// <summary>Whether something listens on the port (from /proc/net/tcp: no probing connection that a server would count as a client).</summary>
    private static bool Listening(int port)
    {
        string hex = $":{port:X4} ";
        return File.ReadLines("/proc/net/tcp").Skip(1).Any(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, var local, _, "0A", ..] && (local + " ").EndsWith(hex, StringComparison.Ordinal));
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private static string NewSocketDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "vmdkmount-nbd-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>SIGKILL, as a crash would.</summary>
    public void Kill()
    {
        if (_process is null) return;
        try
        {
            if (!_process.HasExited) _process.Kill();
        }
        catch (InvalidOperationException)
        {
        }
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        if (_process is null) return;
        Kill();
        _process.Dispose();
        if (_socketDir is not null && Directory.Exists(_socketDir)) Directory.Delete(_socketDir, recursive: true);
    }
}
