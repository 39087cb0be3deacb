using System.Security.Cryptography;
using System.Text.Json;
using VmdkMount.Core.Disks;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Vmdk;

/// <summary>Helpers comparing our flattened disks with qemu-img's output (the independent oracle).</summary>
internal static class VmdkOracle
{
    public static string Sha256(IVirtualDisk disk)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buf = new byte[4 << 20];
        for (long pos = 0; pos < disk.Length;)
        {
            int n = (int)Math.Min(buf.Length, disk.Length - pos);
            int got = disk.ReadAt(pos, buf.AsSpan(0, n));
            Assert.Equal(n, got);
            sha.AppendData(buf, 0, n);
            pos += n;
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    /// <summary>
    /// Asserts the disk equals qemu's raw flattening byte for byte, naming the first differing offset. With qemu's map,
    /// chunks qemu reports as zero (not data) are checked to read as zeros without reading the (sparse) raw file.
    /// </summary>
    public static void AssertSameAsRaw(IVirtualDisk disk, string rawPath, string? qemuMapJson = null)
    {
        var zeroOnly = qemuMapJson is null ? null : QemuZeroRanges(qemuMapJson);
        using var raw = File.OpenRead(rawPath);
        Assert.Equal(raw.Length, disk.Length);
        var a = new byte[1 << 20];
        var b = new byte[1 << 20];
        for (long pos = 0; pos < disk.Length;)
        {
            int n = (int)Math.Min(a.Length, disk.Length - pos);
            disk.ReadAt(pos, a.AsSpan(0, n));
            if (zeroOnly is not null && zeroOnly.Any(z => z.Offset <= pos && pos + n <= z.Offset + z.Length))
            {
                int nz = a.AsSpan(0, n).IndexOfAnyExcept((byte)0);
                if (nz >= 0) Assert.Fail($"{disk.Source}: byte {pos + nz} is 0x{a[nz]:x2} where qemu reads zeros");
                pos += n;
                continue;
            }
            raw.Position = pos;
            raw.ReadExactly(b, 0, n);
            if (!a.AsSpan(0, n).SequenceEqual(b.AsSpan(0, n)))
            {
                int i = 0;
                while (a[i] == b[i]) i++;
                Assert.Fail($"{disk.Source} differs from {rawPath} at byte {pos + i}: ours 0x{a[i]:x2}, qemu 0x{b[i]:x2}");
            }
            pos += n;
        }
    }

    private static List<(long Offset, long Length)> QemuZeroRanges(string mapJson)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(mapJson));
        var list = new List<(long, long)>();
        foreach (var e in doc.RootElement.EnumerateArray())
            if (!e.GetProperty("data").GetBoolean() && e.GetProperty("zero").GetBoolean())
                Add(list, e.GetProperty("start").GetInt64(), e.GetProperty("length").GetInt64());
        return list;
    }

    /// <summary>Fingerprints of every file a disk reads (SHA-256; length and mtime for files over 256 MiB, which are sparse test files).</summary>
    public static Dictionary<string, string> SourceFingerprint(VmdkMount.Core.Disks.Vmdk.VmdkDisk disk)
    {
        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var l in disk.Links)
        {
            files.Add(l.Path);
            foreach (var e in l.Extents) if (File.Exists(e.Extent.FileName)) files.Add(e.Extent.FileName);
        }
        return files.ToDictionary(f => f, f =>
        {
            var fi = new FileInfo(f);
            return fi.Length > 256 << 20 ? $"{fi.Length}@{fi.LastWriteTimeUtc.Ticks}" : Hashing.Sha256File(f);
        });
    }

    /// <summary>The "data": true ranges of `qemu-img map --output=json`, merged.</summary>
    public static List<(long Offset, long Length)> QemuDataRanges(string mapJson)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(mapJson));
        var list = new List<(long, long)>();
        foreach (var e in doc.RootElement.EnumerateArray())
            if (e.GetProperty("data").GetBoolean())
                Add(list, e.GetProperty("start").GetInt64(), e.GetProperty("length").GetInt64());
        return list;
    }

    public static List<(long Offset, long Length)> OurRanges(IVirtualDisk disk)
    {
        var list = new List<(long, long)>();
        foreach (var r in disk.QueryAllocated(0, disk.Length)) Add(list, r.Offset, r.Length);
        return list;
    }

    private static void Add(List<(long Offset, long Length)> list, long start, long length)
    {
        if (list.Count > 0 && list[^1].Offset + list[^1].Length == start) list[^1] = (list[^1].Offset, list[^1].Length + length);
        else list.Add((start, length));
    }

    public static string QemuRawSha256(string vmdk)
    {
        string raw = vmdk + ".oracle.raw";
        try
        {
            Tool.Run("qemu-img", "convert", "-O", "raw", vmdk, raw);
            return Hashing.Sha256File(raw);
        }
        finally
        {
            File.Delete(raw);
        }
    }
}
