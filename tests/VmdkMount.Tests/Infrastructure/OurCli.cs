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
}
