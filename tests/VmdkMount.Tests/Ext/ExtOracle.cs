using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using VmdkMount.Core.Disks;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.FileSystems.Ext;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Ext;

/// <summary>
/// One line per path describing type, permissions, owner, size, mtime (ns), link count, inode, link target,
/// device number and SHA-256: once from the kernel's read-only loop mount (GNU find + stat over the mount),
/// once from our reader. Names are bytes on ext; the kernel side escapes them with <see cref="Escape"/>, an
/// independent implementation of the rule documented in ExtNames.
/// </summary>
public static class ExtOracle
{
    public static Dictionary<string, string> FromKernel(string image, string mountOptions = "loop,ro")
    {
        string mnt = RepoPaths.NewScratch("extmnt");
        try
        {
            Tool.Run("mount", "-o", mountOptions, image, mnt);
            try
            {
                return Describe(mnt);
            }
            finally
            {
                Tool.Run("umount", [mnt], allowFailure: true);
            }
        }
        finally
        {
            Directory.Delete(mnt, recursive: false);
        }
    }

    /// <summary>
    /// The reduced description (type, size, SHA-256 or link target) of a host folder holding an extracted tree, e.g.
    /// `debugfs rdump` output: for volumes the kernel cannot mount. Only files, directories and symlinks.
    /// </summary>
    public static Dictionary<string, string> FromHostTree(string dir) => Describe(dir, full: false);

    private static Dictionary<string, string> Describe(string mnt, bool full = true)
    {
        var env = new Dictionary<string, string> { ["TZ"] = "UTC", ["LC_ALL"] = "C" };
        var find = Tool.Run("find", [".", "-mindepth", "1", "-printf",
            "%P\\0%y\\0%m\\0%U\\0%G\\0%s\\0%TY-%Tm-%Td %TH:%TM:%TS\\0%n\\0%i\\0%l\\0"], workDir: mnt, env: env);
        var fields = Split(find.StdOutBytes);
        var rdev = new Dictionary<string, string>();
        var devs = Tool.Run("find", [".", "-mindepth", "1", "(", "-type", "c", "-o", "-type", "b", ")", "-exec", "stat", "-c", "%i %t %T", "{}", "+"],
            workDir: mnt, env: env);
        foreach (var line in devs.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = line.Split(' ');
            rdev[p[0]] = $"{Convert.ToUInt64(p[1], 16)}:{Convert.ToUInt64(p[2], 16)}";
        }
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 10 <= fields.Count; i += 10)
        {
            var rel = fields[i];
            string path = "/" + string.Join('/', SplitBytes(rel, (byte)'/').Select(c => Escape(c, keepSlash: false)));
            string type = Encoding.ASCII.GetString(fields[i + 1]) switch
            {
                "f" => "file", "d" => "dir", "l" => "symlink", "c" => "device char", "b" => "device block", "p" => "fifo", "s" => "socket", var t => "other:" + t,
            };
            string mode = Convert.ToString(Convert.ToInt32(Encoding.ASCII.GetString(fields[i + 2]), 8), 8);
            string uid = Encoding.ASCII.GetString(fields[i + 3]), gid = Encoding.ASCII.GetString(fields[i + 4]);
            long size = long.Parse(Encoding.ASCII.GetString(fields[i + 5]), CultureInfo.InvariantCulture);
            string mtime = ParseTime(Encoding.ASCII.GetString(fields[i + 6]));
            string links = Encoding.ASCII.GetString(fields[i + 7]), ino = Encoding.ASCII.GetString(fields[i + 8]);
            if (type == "dir") links = "-"; // dir_nlink: counts differ in meaning; not compared
            if (type.StartsWith("device", StringComparison.Ordinal) || type is "fifo" or "socket") size = 0;
            string extra = type switch
            {
                "symlink" => " -> " + Escape(fields[i + 9], keepSlash: true),
                "file" => " sha " + Sha256File(Path.Combine(mnt, Encoding.UTF8.GetString(rel)), rel, mnt),
                "device char" or "device block" => " dev " + rdev[ino],
                _ => "",
            };
            if (full) result[path] = $"{type} {mode} {uid}:{gid} size {size} mtime {mtime} links {links} ino {ino}{extra}";
            else if (type is "file" or "symlink") result[path] = $"{type} size {size}{extra}";
            else if (type == "dir") result[path] = "dir";
        }
        return result;
    }

    public static Dictionary<string, string> FromReader(IFileSystem fs, bool full = true)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var pending = new Stack<(long Id, string Path)>();
        pending.Push((fs.RootId, ""));
        var buffer = new byte[1 << 20];
        var visited = new HashSet<long>();
        while (pending.Count > 0)
        {
            var (dirId, dirPath) = pending.Pop();
            Assert.True(visited.Add(dirId), $"directory {dirPath} (inode {dirId}) reached twice");
            foreach (var e in fs.List(dirId))
            {
                string path = dirPath + "/" + e.Name;
                var n = e.Node;
                string type = n.Type switch
                {
                    FsNodeType.File => "file", FsNodeType.Directory => "dir", FsNodeType.Symlink => "symlink",
                    FsNodeType.Device => n.IsBlockDevice ? "device block" : "device char", FsNodeType.Fifo => "fifo", FsNodeType.Socket => "socket", _ => "other",
                };
                string extra = n.Type switch
                {
                    FsNodeType.Symlink => " -> " + fs.Links().ReadLink(n.Id),
                    FsNodeType.File => " sha " + Sha256Reader(fs, n, buffer),
                    FsNodeType.Device => $" dev {Major(n.DeviceNumber)}:{Minor(n.DeviceNumber)}",
                    _ => "",
                };
                var m = n.Modified!.Value;
                string links = n.Type == FsNodeType.Directory ? "-" : n.Links.ToString(CultureInfo.InvariantCulture);
                if (!full)
                {
                    if (type is "file" or "symlink") result[path] = $"{type} size {n.Size}{extra}";
                    else if (type == "dir") result[path] = "dir";
                }
                else result[path] = $"{type} {Convert.ToString(n.Mode!.Value, 8)} {n.Uid}:{n.Gid} size {n.Size} mtime {m.UnixSeconds}.{m.Nanoseconds:D9} links {links} ino {n.Id}{extra}";
                if (n.Type == FsNodeType.Directory) pending.Push((n.Id, path));
            }
        }
        return result;
    }

    public static ulong Major(ulong dev) => ((dev >> 8) & 0xFFF) | ((dev >> 32) & ~0xFFFUL);
    public static ulong Minor(ulong dev) => (dev & 0xFF) | ((dev >> 12) & ~0xFFUL);

    public static string Sha256Reader(IFileSystem fs, FsNode n, byte[] buffer)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long pos = 0;
        while (true)
        {
            int got = fs.Read(n.Id, pos, buffer);
            if (got == 0) break;
            h.AppendData(buffer, 0, got);
            pos += got;
        }
        Assert.Equal(n.Size, pos);
        return Convert.ToHexString(h.GetHashAndReset()).ToLowerInvariant();
    }

    private static string Sha256File(string path, byte[] rawRel, string mnt)
    {
        // names that are not UTF-8 cannot round-trip through a .NET string: hash those through the shell
        if (!System.Text.Unicode.Utf8.IsValid(rawRel))
        {
            var r = Tool.Run("/bin/bash", ["-c", "sha256sum -- \"$(printf '%b' \"$1\")\" | cut -d' ' -f1", "_", ToPrintfEscapes(rawRel)], workDir: mnt);
            return r.StdOut.Trim();
        }
        return Hashing.Sha256File(path);
    }

    private static string ToPrintfEscapes(byte[] raw) => string.Concat(raw.Select(b => $"\\x{b:x2}"));

    /// <summary>
    /// The documented escape: valid UTF-8 names without NUL, '/' or a '%' followed by two hex digits unchanged;
    /// otherwise invalid bytes, NUL, '/' and '%' become %XX. Link targets (<paramref name="keepSlash"/>): each
    /// '/'-separated component on its own.
    /// </summary>
    public static string Escape(byte[] name, bool keepSlash)
    {
        if (keepSlash)
        {
            var parts = new List<string>();
            int start = 0;
            for (int k = 0; k <= name.Length; k++)
                if (k == name.Length || name[k] == (byte)'/') { parts.Add(Escape(name[start..k], keepSlash: false)); start = k + 1; }
            return string.Join('/', parts);
        }
        string? valid = null;
        try
        {
            valid = new UTF8Encoding(false, true).GetString(name);
        }
        catch (DecoderFallbackException) { }
        if (valid is not null && !valid.Contains('\0') && !valid.Contains('/')
            && !System.Text.RegularExpressions.Regex.IsMatch(valid, "%[0-9A-Fa-f]{2}")) return valid;
        var sb = new StringBuilder();
        int i = 0;
        while (i < name.Length)
        {
            int len = SequenceLength(name, i);
            if (len == 0 || (len == 1 && (name[i] == (byte)'%' || name[i] == 0 || name[i] == (byte)'/')))
            {
                sb.Append('%').Append(name[i].ToString("X2"));
                i++;
            }
            else
            {
                sb.Append(Encoding.UTF8.GetString(name, i, len));
                i += len;
            }
        }
        return sb.ToString();
    }

    /// <summary>Length of the valid UTF-8 sequence at i, or 0.</summary>
    private static int SequenceLength(byte[] s, int i)
    {
        byte b = s[i];
        if (b < 0x80) return 1;
        int len = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
        if (len == 0 || i + len > s.Length) return 0;
        for (int k = 1; k < len; k++) if ((s[i + k] & 0xC0) != 0x80) return 0;
        try
        {
            new UTF8Encoding(false, true).GetString(s, i, len);
            return len;
        }
        catch (DecoderFallbackException)
        {
            return 0;
        }
    }

    private static string ParseTime(string s)
    {
        // "YYYY-MM-DD HH:MM:SS.fffffffff[f]" in UTC
        int dot = s.IndexOf('.');
        string whole = dot < 0 ? s : s[..dot];
        string frac = dot < 0 ? "0" : s[(dot + 1)..];
        var dt = DateTime.ParseExact(whole, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        long seconds = (long)(dt - DateTime.UnixEpoch).TotalSeconds;
        int ns = int.Parse(frac.PadRight(9, '0')[..9], CultureInfo.InvariantCulture);
        return $"{seconds}.{ns:D9}";
    }

    private static List<byte[]> Split(byte[] data) => SplitBytes(data, 0);

    private static List<byte[]> SplitBytes(byte[] data, byte sep)
    {
        var parts = new List<byte[]>();
        int start = 0;
        for (int i = 0; i < data.Length; i++)
            if (data[i] == sep)
            {
                parts.Add(data[start..i]);
                start = i + 1;
            }
        if (start < data.Length) parts.Add(data[start..]);
        return parts;
    }

    /// <summary>Opens an image file the way the tests read it: the raw file as a disk, the whole disk as the volume.</summary>
    public static (RawDisk Disk, IFileSystem Fs) Open(string image)
    {
        var disk = new RawDisk(image);
        try
        {
            return (disk, ExtFileSystem.Open(new SubRange(disk, 0, disk.Length), Path.GetFileName(image), new FileSystemOptions()));
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }

    public static void AssertSame(Dictionary<string, string> expected, Dictionary<string, string> actual)
    {
        var missing = expected.Keys.Except(actual.Keys).Order(StringComparer.Ordinal).ToList();
        var extra = actual.Keys.Except(expected.Keys).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"missing: [{string.Join(", ", missing.Take(20))}] extra: [{string.Join(", ", extra.Take(20))}]");
        var diffs = expected.Where(kv => kv.Value != actual[kv.Key]).Take(10)
            .Select(kv => $"{kv.Key}\n  kernel: {kv.Value}\n  ours:   {actual[kv.Key]}").ToList();
        Assert.True(diffs.Count == 0, string.Join("\n", diffs));
    }
}
