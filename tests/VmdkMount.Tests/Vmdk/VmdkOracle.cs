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

    /// <summary>Asserts the disk equals a raw file byte for byte, naming the first differing offset.</summary>
    public static void AssertSameAsRaw(IVirtualDisk disk, string rawPath)
    {
        using var raw = File.OpenRead(rawPath);
        Assert.Equal(raw.Length, disk.Length);
        var a = new byte[1 << 20];
        var b = new byte[1 << 20];
        for (long pos = 0; pos < disk.Length;)
        {
            int n = (int)Math.Min(a.Length, disk.Length - pos);
            disk.ReadAt(pos, a.AsSpan(0, n));
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
