using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using VmdkMount.Fuse.Native;

namespace VmdkMount.Fuse;

/// <summary>What a running mount records about itself, so `unmount` and `cleanup` can find it after a crash.</summary>
public sealed record MountRecord
{
    public required int Pid { get; init; }
    /// <summary>Process start time (/proc/PID/stat field 22): tells our process from a later one with the same pid.</summary>
    public required long ProcessStart { get; init; }
    public required string MountPoint { get; init; }
    /// <summary>The first disk (the newest link of its chain), as given or made absolute.</summary>
    public required string Disk { get; init; }
    /// <summary>Every disk of the mount in the order given, the first one included (one VM's several disks).</summary>
    public string[] Disks { get; init; } = [];
    public required DateTime Started { get; init; }
    public string? Log { get; init; }
}

/// <summary>
/// The small state folder of running mounts: one JSON file per mount point. Default `/run/vmdkmount` for root,
/// else `$XDG_RUNTIME_DIR/vmdkmount` (or `/tmp/vmdkmount-UID`); `VMDKMOUNT_STATE_DIR` or --state-dir override it.
/// </summary>
public sealed class MountState(string directory)
{
    public const string EnvironmentVariable = "VMDKMOUNT_STATE_DIR";

    public string Directory { get; } = directory;

    public static string DefaultDirectory()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } env) return env;
        uint uid = LibC.GetEuid();
        if (uid == 0) return "/run/vmdkmount";
        if (Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } xdg) return Path.Combine(xdg, "vmdkmount");
        return $"/tmp/vmdkmount-{uid}";
    }

    public static MountState Open(string? directory)
    {
        var state = new MountState(directory ?? DefaultDirectory());
        System.IO.Directory.CreateDirectory(state.Directory);
        return state;
    }

    public string KeyOf(string mountPoint) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(mountPoint)))[..16].ToLowerInvariant();

    public string RecordPath(string mountPoint) => Path.Combine(Directory, KeyOf(mountPoint) + ".json");

    public string LogPath(string mountPoint) => Path.Combine(Directory, KeyOf(mountPoint) + ".log");

    public void Write(MountRecord record)
    {
        string path = RecordPath(record.MountPoint);
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(record, MountStateJson.Default.MountRecord));
        File.Move(tmp, path, overwrite: true);
    }

    public MountRecord? Find(string mountPoint) => ReadRecord(RecordPath(mountPoint));

    public List<MountRecord> List()
    {
        var result = new List<MountRecord>();
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, "*.json"))
            if (ReadRecord(file) is { } r) result.Add(r);
        return result;
    }

    /// <summary>Forgets a mount (only if the record is <paramref name="pid"/>'s, when given).</summary>
    public void Remove(string mountPoint, int? pid = null, bool withLog = false)
    {
        string path = RecordPath(mountPoint);
        if (pid is { } p && ReadRecord(path) is { } r && r.Pid != p) return;
        File.Delete(path);
        if (withLog) File.Delete(LogPath(mountPoint));
    }

    public static bool IsAlive(MountRecord record) => ProcessStartTime(record.Pid) is { } start && start == record.ProcessStart;

    /// <summary>Field 22 of /proc/PID/stat (after the parenthesised command name, which may hold spaces).</summary>
    public static long? ProcessStartTime(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            if (close < 0) return null;
            var fields = stat[(close + 2)..].Split(' ');
            // fields[0] is field 3 (state), so field 22 is fields[19]. A zombie (Z) or dying (X) process serves nothing.
            if (fields.Length > 0 && fields[0] is "Z" or "X") return null;
            return fields.Length > 19 && long.TryParse(fields[19], out long t) ? t : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static MountRecord? ReadRecord(string path)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), MountStateJson.Default.MountRecord);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>Source-generated JSON for mount records: no reflection, so it works trimmed and AOT-compiled.</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(MountRecord))]
internal sealed partial class MountStateJson : System.Text.Json.Serialization.JsonSerializerContext;
