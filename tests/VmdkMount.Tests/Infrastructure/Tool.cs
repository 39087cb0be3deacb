using System.Diagnostics;
using System.Text;

namespace VmdkMount.Tests.Infrastructure;

/// <summary>Runs the independent tools (qemu-img, mkntfs, fls, ...) that make test images and act as oracles.</summary>
public static class Tool
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr, byte[] StdOutBytes);

    /// <summary>Runs a program and returns its output; throws with the full output when it fails, unless allowFailure.</summary>
    public static Result Run(string program, IEnumerable<string> args, string? workDir = null, bool allowFailure = false,
        TimeSpan? timeout = null, IDictionary<string, string>? env = null, byte[]? stdin = null)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            WorkingDirectory = workDir ?? Environment.CurrentDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var kv in env) psi.Environment[kv.Key] = kv.Value;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {program}");
        var outTask = Task.Run(() => { using var ms = new MemoryStream(); p.StandardOutput.BaseStream.CopyTo(ms); return ms.ToArray(); });
        var errTask = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            p.StandardInput.BaseStream.Write(stdin);
            p.StandardInput.Close();
        }
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(5)))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in time");
        }
        var bytes = outTask.Result;
        var result = new Result(p.ExitCode, Encoding.UTF8.GetString(bytes), errTask.Result, bytes);
        if (!allowFailure && result.ExitCode != 0)
            throw new InvalidOperationException(
                $"{program} {string.Join(' ', args)} exited {result.ExitCode}\nstdout: {result.StdOut}\nstderr: {result.StdErr}");
        return result;
    }

    public static Result Run(string program, params string[] args) => Run(program, (IEnumerable<string>)args);

    /// <summary>Runs a bash snippet (set -euo pipefail).</summary>
    public static Result Bash(string script, string? workDir = null, bool allowFailure = false, TimeSpan? timeout = null) =>
        Run("/bin/bash", ["-c", "set -euo pipefail\n" + script], workDir, allowFailure, timeout);
}
