namespace VmdkMount.Tests.Infrastructure;

/// <summary>Where things are: the checkout, shared/ beside it, and the build folder that caches test images.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>`../shared/images-real`: real VMware-made images (read-only; never copied into the repo).</summary>
    public static string RealImages => System.IO.Path.Combine(Root, "..", "shared", "images-real");

    /// <summary>Generated test images live here, built once per machine and reused (`build/` is git-ignored).</summary>
    public static string ImageCache => System.IO.Path.Combine(Root, "build", "test-images");

    public static string ImagesScripts => System.IO.Path.Combine(Root, "images");

    /// <summary>A fresh scratch folder under build/tmp; the caller deletes it.</summary>
    public static string NewScratch(string hint)
    {
        var dir = System.IO.Path.Combine(Root, "build", "tmp", $"{hint}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        for (int i = 0; dir is not null && i < 16; i++, dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "VmdkMount.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the checkout (VmdkMount.sln) above " + AppContext.BaseDirectory);
    }
}
