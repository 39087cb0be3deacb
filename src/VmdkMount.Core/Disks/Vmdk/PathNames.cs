namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>File names written by other hosts: POSIX (`/vmfs/volumes/...`), Windows (`C:\VMs\a.vmdk`) and UNC (`\\srv\share\a.vmdk`).</summary>
internal static class PathNames
{
    public static bool IsAbsoluteAnyStyle(string p) =>
        p.StartsWith('/') || p.StartsWith(@"\\", StringComparison.Ordinal)
        || (p.Length >= 3 && char.IsAsciiLetter(p[0]) && p[1] == ':' && p[2] is '\\' or '/');

    public static string LastComponent(string p)
    {
        int i = p.LastIndexOfAny(['/', '\\']);
        return i < 0 ? p : p[(i + 1)..];
    }
}
