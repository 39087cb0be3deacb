using System.Diagnostics;

namespace VmdkMount.Fuzz;

/// <summary>
/// Finds a test-image set for the seeds: the test suite's cache (build/test-images/NAME-HASH, complete), else builds
/// it once with `images/NAME.sh` into build/fuzz/images/NAME (the scripts need root and the tools of install/deps.sh).
/// </summary>
public static class ImageSets
{
    public static string RepoRoot()
    {
        // bounded by the folder depth: each pass goes one folder up
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "VmdkMount.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no VmdkMount.sln above {AppContext.BaseDirectory}");
    }

    public static string Find(string name)
    {
        string root = RepoRoot();
        string cache = Path.Combine(root, "build", "test-images");
        if (Directory.Exists(cache))
        {
            var built = Directory.GetDirectories(cache, name + "-*")
                .Where(d => File.Exists(Path.Combine(d, ".complete")) && Path.GetFileName(d).Length == name.Length + 13)
                .OrderByDescending(Directory.GetLastWriteTimeUtc).FirstOrDefault();
            if (built is not null) return built;
        }
        string own = Path.Combine(root, "build", "fuzz", "images", name);
        if (File.Exists(Path.Combine(own, ".complete"))) return own;
        if (Directory.Exists(own)) Directory.Delete(own, recursive: true);
        Directory.CreateDirectory(own);
        Console.Error.WriteLine($"fuzz: building test images {name} (images/{name}.sh)");
        var p = Process.Start(new ProcessStartInfo("/bin/bash", [Path.Combine(root, "images", name + ".sh"), own])
            { WorkingDirectory = Path.Combine(root, "images") })!;
        if (!p.WaitForExit(TimeSpan.FromMinutes(10))) { p.Kill(entireProcessTree: true); throw new TimeoutException($"images/{name}.sh took over 10 minutes"); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"images/{name}.sh failed with exit code {p.ExitCode}");
        File.WriteAllText(Path.Combine(own, ".complete"), DateTime.UtcNow.ToString("o"));
        return own;
    }
}
