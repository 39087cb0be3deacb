using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Package;

/// <summary>
/// The win-x64 build of the Windows-relevant projects and the single-file publish of vmdkmount.exe, made once per
/// test run from the checkout as it is (build/win is deleted first: nothing stale is reused). Everything goes under
/// build/win (Directory.Build.props' VmdkMountBuildRoot): the restore for win-x64 rewrites project.assets.json,
/// and doing that in build/obj would race with the Linux build that the running suite was made from.
/// </summary>
internal static class WindowsCrossBuild
{
    private static readonly Lazy<string> Published = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Root => Path.Combine(RepoPaths.Root, "build", "win");

    /// <summary>The published vmdkmount.exe (build/win/publish).</summary>
    public static string Exe => Published.Value;

    public static string PublishDir => Path.Combine(Root, "publish");

    /// <summary>The projects a Windows build ships or will ship: the CLI (with Core and Fuse) and the Dokan frontend.</summary>
    public static readonly string[] Projects = ["src/VmdkMount.Dokan/VmdkMount.Dokan.csproj", "src/VmdkMount.Cli/VmdkMount.Cli.csproj"];

    public static string BuildRootProperty => "-p:VmdkMountBuildRoot=" + Root + Path.DirectorySeparatorChar;

    private static string Build()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
        // the same global properties for every step, so the publish finds the build up to date and only bundles it
        string[] properties = ["-c", "Release", "-r", "win-x64", "--self-contained", "-p:PublishSingleFile=true", BuildRootProperty];
        foreach (var project in Projects)
            Dotnet(["build", project, .. properties]);
        Dotnet(["publish", "src/VmdkMount.Cli/VmdkMount.Cli.csproj", .. properties, "-o", PublishDir]);
        return Path.Combine(PublishDir, "vmdkmount.exe");
    }

    private static void Dotnet(string[] args)
    {
        // no MSBuild node left running after the test; warnings are errors here as in every build
        var r = Tool.Run("dotnet", [.. args, "-nologo", "-nodeReuse:false"], workDir: RepoPaths.Root, allowFailure: true,
            timeout: TimeSpan.FromMinutes(15));
        Assert.True(r.ExitCode == 0, $"dotnet {string.Join(' ', args)} failed:\n{r.StdOut}\n{r.StdErr}");
    }
}

/// <summary>
/// The win-x64 build, its tests and install.ps1's (which publishes into the same build root) run one after the other:
/// two restores of one build root at once would race, and on two cores they would only slow each other.
/// </summary>
[CollectionDefinition(Name)]
public sealed class WindowsBuildCollection
{
    public const string Name = "windows-build";
}
