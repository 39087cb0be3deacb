using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Package;

/// <summary>
/// Real PowerShell to run install.ps1 with: the PowerShell global tool, installed once per machine under
/// build/pwsh-tool. Version 7.6.10 is named because the newest (7.7.0) does not install here.
/// </summary>
internal static class PowerShellTool
{
    private const string Version = "7.6.10";

    private static readonly Lazy<string> Installed = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Pwsh => Installed.Value;

    private static string Install()
    {
        string dir = Path.Combine(RepoPaths.Root, "build", "pwsh-tool");
        string pwsh = Path.Combine(dir, "pwsh");
        if (File.Exists(pwsh) && Tool.Run(pwsh, ["-NoProfile", "-Command", "$PSVersionTable.PSVersion.ToString()"], allowFailure: true).StdOut.Trim() == Version)
            return pwsh;
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);   // a half-made or other-version install
        Tool.Run("dotnet", ["tool", "install", "PowerShell", "--version", Version, "--tool-path", dir], timeout: TimeSpan.FromMinutes(10));
        return pwsh;
    }

    /// <summary>Runs a script file with arguments; no profile, no prompts, no update check, telemetry or colours.</summary>
    public static Tool.Result RunFile(string script, IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var environment = new Dictionary<string, string> { ["POWERSHELL_TELEMETRY_OPTOUT"] = "1", ["POWERSHELL_UPDATECHECK"] = "Off", ["NO_COLOR"] = "1" };
        if (env is not null) foreach (var kv in env) environment[kv.Key] = kv.Value;
        return Tool.Run(Pwsh, ["-NoProfile", "-NonInteractive", "-File", script, .. args], workDir: RepoPaths.Root, allowFailure: true,
            timeout: TimeSpan.FromMinutes(15), env: environment);
    }
}
