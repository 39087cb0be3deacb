using System.Security.Cryptography;
using System.Text;

namespace VmdkMount.Tests.Infrastructure;

/// <summary>
/// Test images are made by real tools from the scripts in `images/` (`images/NAME.sh OUTDIR`), once per machine:
/// the result is cached under build/test-images/NAME-HASH, where HASH covers the script, so editing a script
/// rebuilds its image. Safe when many test classes ask at once (one builder per name, across processes too).
/// </summary>
public static class TestImages
{
    private static readonly Dictionary<string, Lazy<string>> Built = new();
    private static readonly object Gate = new();

    /// <summary>Builds (or reuses) the image set of `images/NAME.sh` and returns its folder.</summary>
    public static string Get(string name)
    {
        Lazy<string> lazy;
        lock (Gate)
        {
            if (!Built.TryGetValue(name, out lazy!))
                Built[name] = lazy = new Lazy<string>(() => Build(name), LazyThreadSafetyMode.ExecutionAndPublication);
        }
        return lazy.Value;
    }

    /// <summary>The script and the helper scripts it sources from images/ (`source ".../x-lib.sh"`): editing either rebuilds.</summary>
    private static byte[] ScriptBytes(string script)
    {
        var bytes = new List<byte>(File.ReadAllBytes(script));
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(script), @"^\s*source\s+""[^""]*/([\w.-]+\.sh)""", System.Text.RegularExpressions.RegexOptions.Multiline))
        {
            string lib = Path.Combine(RepoPaths.ImagesScripts, m.Groups[1].Value);
            if (File.Exists(lib)) bytes.AddRange(File.ReadAllBytes(lib));
        }
        return bytes.ToArray();
    }

    private static string Build(string name)
    {
        string script = Path.Combine(RepoPaths.ImagesScripts, name + ".sh");
        if (!File.Exists(script)) throw new FileNotFoundException("no image script", script);
        string hash = Convert.ToHexString(SHA256.HashData(ScriptBytes(script)))[..12].ToLowerInvariant();
        string outDir = Path.Combine(RepoPaths.ImageCache, $"{name}-{hash}");
        string stamp = Path.Combine(outDir, ".complete");
        if (File.Exists(stamp)) return outDir;
        Directory.CreateDirectory(RepoPaths.ImageCache);
        using var lockFile = AcquireLock(Path.Combine(RepoPaths.ImageCache, name + ".lock"));
        if (File.Exists(stamp)) return outDir;
        if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        string tmp = outDir + ".building";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        Directory.CreateDirectory(tmp);
        Tool.Run("/bin/bash", [script, tmp], workDir: RepoPaths.ImagesScripts, timeout: TimeSpan.FromMinutes(10));
        Directory.Move(tmp, outDir);
        File.WriteAllText(stamp, DateTime.UtcNow.ToString("o"), Encoding.UTF8);
        return outDir;
    }

    private static FileStream AcquireLock(string path)
    {
        var deadline = DateTime.UtcNow.AddMinutes(15);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }
}
