using System.Diagnostics;

namespace VmdkMount.Tests.Infrastructure;

/// <summary>
/// Runs our own `vmdkmount` as a separate process, by the path of this build (never from PATH: Debian's
/// libvmdk-utils installs a different program with the same name).
/// </summary>
public static class OurCli
{
    /// <summary>The built CLI assembly, copied beside the tests by the project reference.</summary>
    public static string Dll { get; } = Path.Combine(AppContext.BaseDirectory, "vmdkmount.dll");

    public static Tool.Result Run(params string[] args) => Run(args, allowFailure: true);

    public static Tool.Result Run(IEnumerable<string> args, bool allowFailure = true, TimeSpan? timeout = null) =>
        Tool.Run("dotnet", new[] { Dll }.Concat(args), allowFailure: allowFailure, timeout: timeout ?? TimeSpan.FromMinutes(5));

    /// <summary>
    /// Starts the CLI as a child process with output redirected (the caller drains it), for tests that send it a
    /// signal. Through `env --default-signal` because a test run started in the background by a non-interactive
    /// shell inherits SIGINT ignored, and a process respects an ignored SIGINT, as a shell's `&amp;` job should.
    /// </summary>
    public static Process StartForSignals(IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("env") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "--default-signal=INT,TERM,HUP", "dotnet", Dll }.Concat(args)) psi.ArgumentList.Add(a);
        if (env is not null)
            foreach (var kv in env) psi.Environment[kv.Key] = kv.Value;
        return Process.Start(psi) ?? throw new InvalidOperationException("cannot start the CLI");
    }
}
