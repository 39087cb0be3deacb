using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Package;

/// <summary>
/// CI's Windows build check, on Linux: the Windows-relevant projects build for win-x64 with warnings as errors, and
/// `dotnet publish -r win-x64 --self-contained -p:PublishSingleFile=true` makes one vmdkmount.exe for x64 Windows
/// (checked from its bytes: PE32+, AMD64, console, a .NET single-file bundle holding our assemblies and the runtime).
/// Nothing here runs it: there is no Windows machine.
/// </summary>
[Collection(WindowsBuildCollection.Name)]
public class WindowsBuildTests
{
    [Fact]
    public void The_win_x64_publish_is_one_self_contained_single_file_vmdkmount_exe()
    {
        string exe = WindowsCrossBuild.Exe;
        WindowsExecutable.AssertSingleFileVmdkmount(exe);
        // single file: no assembly, native library or runtime file beside it (symbols may be)
        var beside = Directory.GetFiles(WindowsCrossBuild.PublishDir).Select(Path.GetFileName).Where(n => !n!.EndsWith(".pdb", StringComparison.Ordinal));
        Assert.Equal(["vmdkmount.exe"], beside);
    }

    [Fact]
    public void The_win_x64_build_compiles_the_Dokan_frontend_and_leaves_the_Linux_build_alone()
    {
        _ = WindowsCrossBuild.Exe;
        string dokan = Path.Combine(WindowsCrossBuild.Root, "bin", "VmdkMount.Dokan", "Release", "net10.0", "win-x64", "VmdkMount.Dokan.dll");
        Assert.True(File.Exists(dokan), $"no {dokan}");
        Assert.Empty(WindowsExecutable.Read(dokan).BundledFiles);   // a PE library, not a bundle
        // the win-x64 restore wrote its own assets files; the suite's Linux ones (build/obj) never name win-x64
        foreach (var project in new[] { "VmdkMount.Core", "VmdkMount.Fuse", "VmdkMount.Dokan", "VmdkMount.Cli" })
        {
            string win = Path.Combine(WindowsCrossBuild.Root, "obj", project, "project.assets.json");
            Assert.Contains("win-x64", File.ReadAllText(win));
            string linux = Path.Combine(RepoPaths.Root, "build", "obj", project, "project.assets.json");
            if (File.Exists(linux)) Assert.DoesNotContain("\"win-x64\"", File.ReadAllText(linux));
        }
    }
}
