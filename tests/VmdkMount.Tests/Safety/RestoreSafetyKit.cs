using System.Diagnostics;
using System.Text;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Safety;

/// <summary>What the restore safety tests share: the hostile images, snapshots of folders, link resolution, a CLI run.</summary>
internal static class RestoreSafetyKit
{
    public static string Images => TestImages.Get("restore-hostile");

    /// <summary>Every entry under <paramref name="dir"/> (not following links): type, link text or content hash.</summary>
    public static SortedDictionary<string, string> Snapshot(string dir, string? skip = null)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        pending.Push(dir);
        while (pending.Count > 0)
        {
            var d = pending.Pop();
            foreach (var e in new DirectoryInfo(d).EnumerateFileSystemInfos())
            {
                if (skip is not null && e.FullName == skip) continue;
                string rel = Path.GetRelativePath(dir, e.FullName);
                if (e.LinkTarget is { } t) result[rel] = "link " + t;
                else if (e is DirectoryInfo) { result[rel] = "dir"; pending.Push(e.FullName); }
                else result[rel] = "file " + Hashing.Sha256File(e.FullName);
            }
        }
        return result;
    }

    /// <summary>The symlinks under <paramref name="dir"/> whose resolution (realpath -m) leaves it.</summary>
    public static List<string> LinksResolvingOutside(string dir)
    {
        string root = Tool.Run("realpath", dir).StdOut.Trim();
        var bad = new List<string>();
        // find, which never descends through a link: .NET's recursive enumeration follows links to folders, and a
        // restored link to `.` or `..` (confined, so inside DEST) made it loop until ELOOP.
        foreach (var f in Tool.Run("find", dir, "-type", "l", "-print0").StdOut.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            string resolved = Tool.Run("realpath", "-m", f).StdOut.Trim();
            if (resolved != root && !resolved.StartsWith(root + "/", StringComparison.Ordinal)) bad.Add($"{f} -> {resolved}");
        }
        return bad;
    }

    public static Tool.Result RunCli(params string[] args) => OurCli.Run(args, allowFailure: true, timeout: TimeSpan.FromMinutes(2));

    /// <summary>Starts the CLI as a child process (for sending it a signal).</summary>
    public static Process Start(IDictionary<string, string> env, params string[] args) => OurCli.StartForSignals(args, env);

    public static void WriteText(string path, string text) => File.WriteAllText(path, text, new UTF8Encoding(false));
}
