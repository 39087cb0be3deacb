using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using VmdkMount.Dokan.Native;

namespace VmdkMount.Dokan;

/// <summary>What a running Windows mount records about itself, so `cleanup` can find what a crash left behind.</summary>
public sealed record DokanMountRecord
{
    public required int Pid { get; init; }
    /// <summary>The process's start time (UTC ticks): tells our process from a later one with the same id.</summary>
    public required long ProcessStartTicks { get; init; }
    public required string MountPoint { get; init; }
    public required string Disk { get; init; }
    public required DateTime Started { get; init; }
}

/// <summary>
/// The state folder of Windows mounts, one JSON file per mount point (as MountState is for FUSE). A drive letter or
/// mount folder whose process is gone is still held by the Dokan driver until DokanRemoveMountPoint releases it:
/// <see cref="CleanStale"/> does that, for `vmdkmount cleanup` and before every mount.
/// </summary>
public sealed class DokanMountState(string directory)
{
    public string Directory { get; } = directory;

    /// <summary>%LOCALAPPDATA%\vmdkmount\mounts (VMDKMOUNT_STATE_DIR overrides it).</summary>
    public static string DefaultDirectory() =>
        Environment.GetEnvironmentVariable("VMDKMOUNT_STATE_DIR") is { Length: > 0 } env ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "vmdkmount", "mounts");

    /// <summary>Mount points compare without case on Windows: `m:\` and `M:\` are one record.</summary>
    public string RecordPath(string mountPoint) => Path.Combine(Directory,
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(mountPoint.TrimEnd('\\').ToUpperInvariant())))[..16].ToLowerInvariant() + ".json");

    public void Write(DokanMountRecord record)
    {
        System.IO.Directory.CreateDirectory(Directory);
        string path = RecordPath(record.MountPoint);
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(record, DokanStateJson.Default.DokanMountRecord));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    public void Remove(string mountPoint) => File.Delete(RecordPath(mountPoint));

    public List<DokanMountRecord> List()
    {
        var result = new List<DokanMountRecord>();
        if (!System.IO.Directory.Exists(Directory)) return result;
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, "*.json"))
        {
            try
            {
                if (JsonSerializer.Deserialize(File.ReadAllText(file), DokanStateJson.Default.DokanMountRecord) is { } r) result.Add(r);
            }
            catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
            {
                // a record being written, or not ours: skipped
            }
        }
        return result;
    }

    /// <summary>
    /// Unmounts (DokanRemoveMountPoint) every recorded mount whose process is gone and forgets it; returns their mount
    /// points. <paramref name="isAlive"/> defaults to <see cref="IsAlive"/>.
    /// </summary>
    public List<string> CleanStale(INativeDokan native, Action<string> log, Func<DokanMountRecord, bool>? isAlive = null)
    {
        var cleaned = new List<string>();
        foreach (var record in List())
        {
            if ((isAlive ?? IsAlive)(record)) continue;
            bool removed = native.RemoveMountPoint(record.MountPoint);
            log(removed
                ? $"{record.MountPoint}: unmounted (left by process {record.Pid}, which is gone)"
                : $"{record.MountPoint}: no longer mounted; forgetting the record of process {record.Pid}");
            Remove(record.MountPoint);
            cleaned.Add(record.MountPoint);
        }
        return cleaned;
    }

    public static bool IsAlive(DokanMountRecord record)
    {
        try
        {
            using var process = Process.GetProcessById(record.Pid);
            return !process.HasExited && process.StartTime.ToUniversalTime().Ticks == record.ProcessStartTicks;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>This process's record for <paramref name="mountPoint"/>.</summary>
    public static DokanMountRecord ForThisProcess(string mountPoint, string disk)
    {
        using var self = Process.GetCurrentProcess();
        return new DokanMountRecord
        {
            Pid = Environment.ProcessId, ProcessStartTicks = self.StartTime.ToUniversalTime().Ticks, MountPoint = mountPoint, Disk = disk,
            Started = DateTime.UtcNow,
        };
    }
}

/// <summary>Source-generated JSON for mount records: no reflection, so it works trimmed and AOT-compiled.</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(DokanMountRecord))]
internal sealed partial class DokanStateJson : System.Text.Json.Serialization.JsonSerializerContext;
