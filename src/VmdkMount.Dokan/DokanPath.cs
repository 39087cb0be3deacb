using VmdkMount.Core.Volumes;

namespace VmdkMount.Dokan;

/// <summary>
/// A path as Dokan hands it to a callback (<c>\dir\file</c>, <c>\dir\file:stream:$DATA</c>, possibly <c>\\?\</c>-prefixed,
/// with a trailing or doubled backslash), split into the components the mount model walks and the named stream.
/// </summary>
public sealed record DokanPath(IReadOnlyList<string> Components, string? Stream)
{
    /// <summary>Parses <paramref name="raw"/>; null when Windows would call it an invalid name (STATUS_OBJECT_NAME_INVALID).</summary>
    public static DokanPath? Parse(string raw)
    {
        string s = raw;
        if (s.StartsWith(@"\\?\", StringComparison.Ordinal) || s.StartsWith(@"\??\", StringComparison.Ordinal)) s = s[4..];
        var parts = s.Split('\\', StringSplitOptions.RemoveEmptyEntries);
        string? stream = null;
        var components = new List<string>(parts.Length);
        for (int i = 0; i < parts.Length; i++)
        {
            string part = parts[i];
            if (part == "." || part == "..") return null;
            int colon = part.IndexOf(':');
            if (colon >= 0)
            {
                if (i != parts.Length - 1) return null; // a stream only on the last component
                string rest = part[(colon + 1)..];
                part = part[..colon];
                int typeColon = rest.IndexOf(':');
                if (typeColon >= 0)
                {
                    if (!rest[(typeColon + 1)..].Equals("$DATA", StringComparison.OrdinalIgnoreCase)) return null;
                    rest = rest[..typeColon];
                }
                else if (rest.Length == 0) return null; // "file:" names no stream
                if (part.Length == 0) return null;
                stream = rest.Length == 0 ? null : rest; // "file::$DATA" is the unnamed stream
            }
            components.Add(part);
        }
        return new DokanPath(components, stream);
    }
}

/// <summary>Rules that depend on the Windows build the frontend runs on.</summary>
public static class WindowsRules
{
    /// <summary>Windows 10 1809 (build 17763) and later upgrade a ReFS volume they are shown, even read-only.</summary>
    public const int RefsUpgradeBuild = 17763;

    /// <summary>Why a ReFS volume is not handed to Windows on <paramref name="build"/> (read from the OS), or null.</summary>
    public static string? RefsSkipReason(int build) => build >= RefsUpgradeBuild
        ? $"ReFS is not mounted: Windows build {build} (17763 or later) would upgrade the volume's format"
        : null;

    /// <summary>
    /// Why <paramref name="volume"/> is not shown on this Windows build, or null when it is: a ReFS volume always
    /// gets the build-specific reason (from build 17763 Windows would upgrade it), other unmountable ones their own.
    /// </summary>
    public static string? SkipReason(Volume volume, int build) =>
        volume.FileSystem == FileSystemKinds.Refs ? RefsSkipReason(build) ?? volume.Reason ?? "ReFS is not read"
        : volume.Mountable ? null : volume.Reason;

    /// <summary>The Windows build this process runs on (Environment.OSVersion reports the real one on .NET 5 and later).</summary>
    public static int CurrentBuild() => Environment.OSVersion.Version.Build;

    /// <summary>Names Explorer and the shell ask for in every folder; a miss is remembered per folder.</summary>
    public static readonly IReadOnlySet<string> ShellProbeNames =
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "desktop.ini", "Thumbs.db", "autorun.inf", "folder.jpg" };
}
