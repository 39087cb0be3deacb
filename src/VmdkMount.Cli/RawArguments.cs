using System.Text;
using System.Text.Unicode;

namespace VmdkMount.Cli;

/// <summary>
/// .NET decodes the command line as UTF-8 and turns bytes that are not UTF-8 into U+FFFD, so `cat 'disk:/\xFF'` would
/// look up a file really called U+FFFD, and `extract ... '/restore/\xFF'` would write into a folder of another name
/// than the one typed. Every name the tool shows is valid UTF-8 (other bytes are shown escaped), so an image path
/// that was not UTF-8 names nothing, and an output path that was not UTF-8 cannot be honoured: this says so. The raw bytes come
/// from /proc/self/cmdline, the only place they survive.
/// </summary>
internal static class RawArguments
{
    /// <summary>Throws when <paramref name="decoded"/> came from an argument whose bytes were not UTF-8.</summary>
    public static void RequireUtf8(string decoded, string what, string? hint = null)
    {
        if (decoded.IndexOf('\uFFFD') < 0) return;
        byte[] cmdline;
        try
        {
            cmdline = File.ReadAllBytes("/proc/self/cmdline");
        }
        catch (IOException)
        {
            return; // no procfs: nothing to compare with
        }
        var lossy = new UTF8Encoding(false, false);
        foreach (var range in Split(cmdline))
        {
            var arg = cmdline.AsSpan(range);
            if (!Utf8.IsValid(arg) && lossy.GetString(arg).Contains(decoded, StringComparison.Ordinal))
                throw new ArgumentException($"{what}: the argument holds bytes that are not UTF-8, which cannot be passed on exactly{hint}");
        }
    }

    private static IEnumerable<Range> Split(byte[] cmdline)
    {
        int start = 0;
        for (int i = 0; i < cmdline.Length; i++)
        {
            if (cmdline[i] != 0) continue;
            yield return new Range(start, i);
            start = i + 1;
        }
        if (start < cmdline.Length) yield return new Range(start, cmdline.Length);
    }
}
