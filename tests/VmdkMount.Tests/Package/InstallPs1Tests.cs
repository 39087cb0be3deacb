using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Package;

/// <summary>
/// install/install.ps1 run by real PowerShell (7.6, from the PowerShell global tool). The Windows parts it touches are
/// pointed elsewhere by its own parameters: -System32 at a fake system folder (empty, Dokan 1 only, Dokan 2), the user
/// PATH at a file (-PathFile) in place of HKCU\Environment, the install folder at a scratch folder (-Prefix).
/// </summary>
[Collection(WindowsBuildCollection.Name)]
public class InstallPs1Tests
{
    private const string DokanReleases = "https://github.com/dokan-dev/dokany/releases";
    private const string WindowsPath = @"C:\Windows\system32;C:\Windows;C:\Tools";

    private static string Script => Path.Combine(RepoPaths.Root, "install", "install.ps1");

    private sealed class Scratch : IDisposable
    {
        public string Dir { get; } = RepoPaths.NewScratch("install-ps1");
        public string System32 => Path.Combine(Dir, "System32");
        public string Prefix => Path.Combine(Dir, "Programs", "VmdkMount");
        public string PathFile => Path.Combine(Dir, "user-path.txt");

        public Scratch(params string[] system32Files)
        {
            Directory.CreateDirectory(Path.Combine(System32, "drivers"));
            foreach (var f in system32Files) File.WriteAllBytes(Path.Combine(System32, f), [0x4D, 0x5A]);
            File.WriteAllText(PathFile, WindowsPath);
        }

        public Tool.Result Install(params string[] args) => InstallWith(null, Prefix, args);

        public Tool.Result InstallWith(IDictionary<string, string>? env, string prefix, params string[] args) =>
            PowerShellTool.RunFile(Script, ["-System32", System32, "-Prefix", prefix, "-PathFile", PathFile, .. args], env);

        public string UserPath => File.ReadAllText(PathFile);

        public void Dispose() => Directory.Delete(Dir, recursive: true);
    }

    private static readonly string[] Dokan2 = ["dokan2.dll", "drivers/dokan2.sys"];

    [Theory]
    [InlineData(new string[0], "not found")]
    [InlineData(new[] { "dokan1.dll", "drivers/dokan1.sys" }, "only Dokan 1.x found")]
    [InlineData(new[] { "dokan2.dll" }, "dokan2.dll found, but not its driver")]
    [InlineData(new[] { "drivers/dokan2.sys" }, "driver found, but not dokan2.dll")]
    public void Without_the_Dokan_2_driver_it_stops_with_exit_1_and_says_where_to_get_it(string[] system32, string found)
    {
        using var s = new Scratch(system32);
        var r = s.Install("-Exe", Script);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(DokanReleases, r.StdErr);
        Assert.Contains("2.x", r.StdErr);
        Assert.Contains(found, r.StdErr);
        Assert.Contains("-SkipDriverCheck", r.StdErr);
        Assert.False(Directory.Exists(s.Prefix), "installed although the driver is missing");
        Assert.Equal(WindowsPath, s.UserPath);
    }

    [Fact]
    public void With_the_driver_it_publishes_installs_and_adds_the_folder_to_the_user_PATH_once()
    {
        // the script publishes into the build root the Windows build tests made (after them, not beside them)
        string published = WindowsCrossBuild.Exe;
        using var s = new Scratch(Dokan2);
        var first = s.Install("-BuildRoot", WindowsCrossBuild.Root);
        Assert.True(first.ExitCode == 0, first.StdOut + first.StdErr);
        Assert.Contains("dotnet publish", first.StdOut);
        string scriptPublished = Path.Combine(WindowsCrossBuild.Root, "publish-win-x64", "vmdkmount.exe");
        Assert.True(File.Exists(scriptPublished), first.StdOut);
        string installed = Path.Combine(s.Prefix, "vmdkmount.exe");
        WindowsExecutable.AssertSingleFileVmdkmount(installed);
        Assert.Equal(Hashing.Sha256File(scriptPublished), Hashing.Sha256File(installed));
        Assert.Equal(WindowsPath + ";" + s.Prefix, s.UserPath);
        Assert.Single(Directory.GetFileSystemEntries(s.Prefix));

        // again, with the folder spelled with a trailing separator and an executable given: one PATH entry still
        var second = s.InstallWith(null, s.Prefix + Path.DirectorySeparatorChar, "-Exe", published);
        Assert.True(second.ExitCode == 0, second.StdOut + second.StdErr);
        Assert.DoesNotContain("dotnet publish", second.StdOut);
        Assert.Contains("already on the user PATH", second.StdOut);
        Assert.Equal(WindowsPath + ";" + s.Prefix, s.UserPath);
        Assert.Equal(Hashing.Sha256File(published), Hashing.Sha256File(installed));
    }

    /// <summary>
    /// Windows PowerShell 5.1 cannot be run here, so its limits are checked on the script's syntax tree (parsed by
    /// PowerShell 7's parser, WindowsPowerShell51Syntax.ps1): first that the check finds what it looks for.
    /// </summary>
    [Fact]
    public void The_script_uses_nothing_newer_than_Windows_PowerShell_5_1()
    {
        string checker = Path.Combine(RepoPaths.Root, "tests", "VmdkMount.Tests", "Package", "WindowsPowerShell51Syntax.ps1");
        string scratch = RepoPaths.NewScratch("ps51");
        try
        {
            string newer = Path.Combine(scratch, "newer.ps1");
            File.WriteAllLines(newer, ["$a = $b ?? 1", "$c = $true ? 1 : 2", "git status && echo ok", "Join-Path a b c", "if ($IsWindows) { }"]);
            var found = PowerShellTool.RunFile(checker, ["-Path", newer]);
            Assert.True(found.ExitCode == 0, found.StdErr);
            Assert.Equal(5, found.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

            var r = PowerShellTool.RunFile(checker, ["-Path", Script]);
            Assert.True(r.ExitCode == 0, r.StdErr);
            Assert.Equal("", r.StdOut.Trim());
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void A_PATH_entry_spelled_with_a_variable_counts_as_the_install_folder()
    {
        // user PATHs hold entries such as %LOCALAPPDATA%\Programs\X (REG_EXPAND_SZ): the same folder, not a new one
        using var s = new Scratch(Dokan2);
        string spelled = WindowsPath + ";%VMDKMOUNT_TEST_DIR%" + s.Prefix[s.Dir.Length..];
        File.WriteAllText(s.PathFile, spelled);
        string exe = Path.Combine(s.Dir, "vmdkmount.exe");
        File.WriteAllText(exe, "stand-in");
        var r = s.InstallWith(new Dictionary<string, string> { ["VMDKMOUNT_TEST_DIR"] = s.Dir }, s.Prefix, "-Exe", exe);
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        Assert.Contains("already on the user PATH", r.StdOut);
        Assert.Equal(spelled, s.UserPath);
    }

    [Theory]
    [InlineData("-DryRun")]
    [InlineData("-WhatIf")]
    public void A_dry_run_prints_every_step_and_changes_nothing(string dryRun)
    {
        using var s = new Scratch(Dokan2);
        string buildRoot = Path.Combine(s.Dir, "build");
        var r = s.Install(dryRun, "-BuildRoot", buildRoot);
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        Assert.Contains("would: dotnet publish", r.StdOut);
        Assert.Contains("-r win-x64 --self-contained -p:PublishSingleFile=true", r.StdOut);
        Assert.Contains($"would: copy {Path.Combine(buildRoot, "publish-win-x64", "vmdkmount.exe")} -> {Path.Combine(s.Prefix, "vmdkmount.exe")}", r.StdOut);
        Assert.Contains($"would: add {s.Prefix} to the user PATH", r.StdOut);
        Assert.False(Directory.Exists(buildRoot), "a dry run built something");
        Assert.False(Directory.Exists(s.Prefix), "a dry run installed something");
        Assert.Equal(WindowsPath, s.UserPath);
    }

    [Fact]
    public void SkipDriverCheck_installs_without_the_driver_and_PathScope_None_leaves_PATH_alone()
    {
        using var s = new Scratch();
        string exe = Path.Combine(s.Dir, "vmdkmount.exe");
        File.WriteAllText(exe, "stand-in for a published vmdkmount.exe");
        var r = s.Install("-SkipDriverCheck", "-Exe", exe, "-PathScope", "None");
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        Assert.Equal(File.ReadAllText(exe), File.ReadAllText(Path.Combine(s.Prefix, "vmdkmount.exe")));
        Assert.Equal(WindowsPath, s.UserPath);

        var missing = s.Install("-SkipDriverCheck", "-Exe", Path.Combine(s.Dir, "no-such.exe"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no such file", missing.StdErr);
    }
}
