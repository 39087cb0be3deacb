namespace VmdkMount.Fuse;

/// <summary>One line of /proc/self/mountinfo: where, what type, from what, and its device number ("major:minor").</summary>
public readonly record struct MountEntry(string MountPoint, string FsType, string Source, string Device = "");

/// <summary>Reads the kernel's mount table (/proc/self/mountinfo), unescaping the octal escapes it uses for spaces.</summary>
public static class MountTable
{
    /// <summary>The type our mounts show (`subtype=vmdkmount`).</summary>
    public const string OurFsType = "fuse.vmdkmount";

    public static List<MountEntry> Read()
    {
        var result = new List<MountEntry>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
            var fields = line.Split(' ');
            int dash = Array.IndexOf(fields, "-");
            if (fields.Length < 5 || dash < 0 || dash + 2 >= fields.Length) continue;
            result.Add(new MountEntry(Unescape(fields[4]), fields[dash + 1], Unescape(fields[dash + 2]), fields[2]));
        }
        return result;
    }

    public static MountEntry? Find(string mountPoint)
    {
        MountEntry? found = null;
        foreach (var e in Read())
            if (e.MountPoint == mountPoint) found = e; // the last one is on top
        return found;
    }

    /// <summary>A mount whose serving process is gone: listed in the table, but stat fails (ENOTCONN).</summary>
    /// <remarks>Only ENOTCONN counts: a live mount of another user without allow_other answers EACCES, even to root.</remarks>
    public static bool IsDead(string mountPoint) =>
        Find(mountPoint) is not null && Native.LibC.Access(mountPoint, 0) != 0
        && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Errno.ENOTCONN;

    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new System.Text.StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && IsOctal(s, i + 1))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static bool IsOctal(string s, int start)
    {
        if (start + 3 > s.Length) return false;
        for (int i = start; i < start + 3; i++) if (s[i] < '0' || s[i] > '7') return false;
        return true;
    }
}
