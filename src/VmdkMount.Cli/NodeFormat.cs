using System.Globalization;
using System.Text.Json;
using VmdkMount.Core.FileSystems;

namespace VmdkMount.Cli;

/// <summary>How `ls` shows a node, in text and in the JSON shape README.md fixes ("JSON output").</summary>
internal static class NodeFormat
{
    public static string TypeWord(FsNodeType t) => t switch
    {
        FsNodeType.File => "file",
        FsNodeType.Directory => "dir",
        FsNodeType.Symlink => "symlink",
        FsNodeType.Device => "device",
        FsNodeType.Fifo => "fifo",
        FsNodeType.Socket => "socket",
        _ => "other",
    };

    /// <summary>Permission bits: the filesystem's own, or (NTFS, FAT) derived from the read-only attribute.</summary>
    public static uint Permissions(FsNode n)
    {
        if (n.Mode is { } m) return m & 0xFFF;
        bool ro = (n.Attributes & FsAttributes.ReadOnly) != 0;
        return n.Type switch
        {
            FsNodeType.Directory => 0x1ED, // 0755
            FsNodeType.Symlink => 0x1FF,   // 0777
            _ => ro ? 0x124u : 0x1A4u,     // 0444 : 0644
        };
    }

    public static string ModeString(FsNode n)
    {
        char type = n.Type switch
        {
            FsNodeType.Directory => 'd', FsNodeType.Symlink => 'l', FsNodeType.Device => n.IsBlockDevice ? 'b' : 'c',
            FsNodeType.Fifo => 'p', FsNodeType.Socket => 's', FsNodeType.File => '-', _ => '?',
        };
        uint p = Permissions(n);
        Span<char> s = stackalloc char[10];
        s[0] = type;
        const string rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) s[1 + i] = (p & (1u << (8 - i))) != 0 ? rwx[i] : '-';
        return new string(s);
    }

    /// <summary>
    /// A size as `ls -h` shows it: bytes below 1024, else the value in the largest power of 1024 that keeps it at least
    /// 1, rounded up (as coreutils does, so a file never looks smaller than it is), one decimal below 10.
    /// </summary>
    public static string HumanSize(long size)
    {
        if (size < 1024) return size.ToString(CultureInfo.InvariantCulture);
        const string units = "KMGTPE";
        double value = size;
        int unit = -1;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        if (value < 10)
        {
            double tenths = Math.Ceiling(value * 10) / 10;
            if (tenths < 10) return tenths.ToString("0.0", CultureInfo.InvariantCulture) + units[unit];
            value = tenths;
        }
        double whole = Math.Ceiling(value);
        if (whole >= 1024 && unit < units.Length - 1) return "1.0" + units[unit + 1];
        return whole.ToString("0", CultureInfo.InvariantCulture) + units[unit];
    }

    /// <summary>A long-listing time: the local zone (TZ, as coreutils reads it) unless <paramref name="utc"/>.</summary>
    public static string ListingTime(FsTime t, bool utc)
    {
        DateTime when;
        try
        {
            when = t.ToDateTime();
            if (!utc) when = TimeZoneInfo.ConvertTimeFromUtc(when, TimeZoneInfo.Local);
        }
        catch (ArgumentOutOfRangeException)
        {
            // a time outside what the calendar can show (year < 1 or > 9999): shown as seconds, as ls shows such times
            return t.UnixSeconds.ToString(CultureInfo.InvariantCulture).PadLeft(19);
        }
        return when.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
    }

    public static string Time(FsTime? t) =>
        t is { } v ? v.ToDateTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture) : "";

    public static IEnumerable<string> AttributeWords(FsAttributes a)
    {
        if ((a & FsAttributes.ReadOnly) != 0) yield return "readonly";
        if ((a & FsAttributes.Hidden) != 0) yield return "hidden";
        if ((a & FsAttributes.System) != 0) yield return "system";
        if ((a & FsAttributes.Archive) != 0) yield return "archive";
        if ((a & FsAttributes.Compressed) != 0) yield return "compressed";
        if ((a & FsAttributes.Encrypted) != 0) yield return "encrypted";
        if ((a & FsAttributes.Sparse) != 0) yield return "sparse";
        if ((a & FsAttributes.ReparsePoint) != 0) yield return "reparse-point";
        if ((a & FsAttributes.Offline) != 0) yield return "offline";
        if ((a & FsAttributes.Metafile) != 0) yield return "metafile";
    }

    public static void WriteJson(Utf8JsonWriter w, string path, string name, FsNode n, string? target, IReadOnlyList<FsStream> streams)
    {
        w.WriteStartObject();
        w.WriteString("path", path);
        w.WriteString("name", name);
        w.WriteString("type", TypeWord(n.Type));
        w.WriteNumber("size", n.Size);
        if (n.Modified is not null) w.WriteString("mtime", Time(n.Modified));
        if (n.Created is not null) w.WriteString("ctime", Time(n.Created));
        if (n.Accessed is not null) w.WriteString("atime", Time(n.Accessed));
        if (n.Changed is not null) w.WriteString("changed", Time(n.Changed));
        w.WriteNumber("inode", n.Id);
        w.WriteNumber("links", n.Links);
        w.WriteString("mode", "0" + Convert.ToString(Permissions(n), 8));
        if (n.Uid is { } uid) w.WriteNumber("uid", uid);
        if (n.Gid is { } gid) w.WriteNumber("gid", gid);
        w.WriteStartArray("attributes");
        foreach (var a in AttributeWords(n.Attributes)) w.WriteStringValue(a);
        w.WriteEndArray();
        if (streams.Count > 0)
        {
            w.WriteStartArray("streams");
            foreach (var s in streams)
            {
                w.WriteStartObject();
                w.WriteString("name", s.Name);
                w.WriteNumber("size", s.Size);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (target is not null) w.WriteString("target", target);
        if (n.Type == FsNodeType.Device)
        {
            w.WriteNumber("rdev", n.DeviceNumber);
            w.WriteString("device", n.IsBlockDevice ? "block" : "char");
        }
        w.WriteEndObject();
    }
}
