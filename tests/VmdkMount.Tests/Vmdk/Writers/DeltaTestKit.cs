using System.Diagnostics;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Vmdk.Writers;

/// <summary>Shared steps of the COWD and SEsparse extent tests: flatten over a parent, ask qemu, reject bad files.</summary>
public static class DeltaTestKit
{
    /// <summary>
    /// Reads [offset, offset+dest.Length) of the disk made of <paramref name="extent"/> over a raw parent
    /// (zeros past the parent's end): Data from the extent, Zero as zeros, Unallocated from the parent.
    /// </summary>
    public static void ReadFlat(IExtent extent, long offset, Span<byte> dest, IReadAt? parent)
    {
        int done = 0;
        while (done < dest.Length)
        {
            var run = extent.Map(offset + done);
            Assert.True(run.Length > 0, $"Map({offset + done}) returned an empty run");
            int n = (int)Math.Min(run.Length, dest.Length - done);
            var part = dest.Slice(done, n);
            switch (run.State)
            {
                case GrainState.Data:
                    extent.ReadData(offset + done, part);
                    break;
                case GrainState.Zero:
                    part.Clear();
                    break;
                case GrainState.Unallocated:
                    part.Clear();
                    parent?.ReadAt(offset + done, part);
                    break;
                default:
                    throw new InvalidOperationException($"unexpected state {run.State}");
            }
            done += n;
        }
    }

    /// <summary>Flattens the whole extent and compares it, chunk by chunk, with a raw file (qemu-img's output).</summary>
    public static void AssertSameAsRaw(IExtent extent, IReadAt? parent, string rawPath, int chunk = 1 << 20)
    {
        using var raw = LocalSourceStore.OpenFile(rawPath);
        Assert.Equal(raw.Length, extent.Length);
        var ours = new byte[chunk];
        var theirs = new byte[chunk];
        for (long off = 0; off < extent.Length; off += chunk)
        {
            int n = (int)Math.Min(chunk, extent.Length - off);
            ReadFlat(extent, off, ours.AsSpan(0, n), parent);
            raw.ReadExactly(off, theirs.AsSpan(0, n), rawPath);
            if (!ours.AsSpan(0, n).SequenceEqual(theirs.AsSpan(0, n)))
            {
                int i = 0;
                while (ours[i] == theirs[i]) i++;
                Assert.Fail($"flattened {extent.FileName} differs from {rawPath} at byte {off + i}: ours {ours[i]:x2}, qemu {theirs[i]:x2}");
            }
        }
    }

    /// <summary>qemu-img convert -O raw of a descriptor: the independent oracle.</summary>
    public static string QemuRaw(string descriptor, string dir)
    {
        string raw = Path.Combine(dir, Path.GetFileNameWithoutExtension(descriptor) + ".qemu.raw");
        Tool.Run("qemu-img", "convert", "-f", "vmdk", "-O", "raw", descriptor, raw);
        return raw;
    }

    public static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static byte[] Filled(int length, byte value)
    {
        var data = new byte[length];
        Array.Fill(data, value);
        return data;
    }

    /// <summary>
    /// Opens <paramref name="path"/> with <paramref name="open"/>, runs <paramref name="use"/> on the extent, and
    /// proves that this fails with <typeparamref name="T"/> whose message names the file and contains
    /// <paramref name="expected"/>; in bounded time, with bounded memory, and without touching the file.
    /// </summary>
    public static T AssertRejected<T>(string path, Func<IReadAt, string, IExtent> open, Action<IExtent>? use, string expected)
        where T : VmdkMountException
    {
        string before = Hashing.Sha256File(path);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        Exception? caught = null;
        try
        {
            using var file = LocalSourceStore.OpenFile(path);
            using var extent = open(file, path);
            use?.Invoke(extent);
        }
        catch (Exception e)
        {
            caught = e;
        }
        sw.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        Assert.True(caught is not null, $"{path}: expected {typeof(T).Name} containing \"{expected}\", but nothing was thrown");
        var typed = Assert.IsType<T>(caught, exactMatch: false);
        Assert.Contains(path, typed.Message);
        Assert.Contains(expected, typed.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
        Assert.True(allocated < 64L << 20, $"allocated {allocated} bytes on bad input");
        Assert.Equal(before, Hashing.Sha256File(path));
        return typed;
    }

    /// <summary>Opens the file, runs Check(), and proves a problem containing <paramref name="expected"/> is reported.</summary>
    public static void AssertCheckReports(string path, Func<IReadAt, string, IExtent> open, string expected)
    {
        string before = Hashing.Sha256File(path);
        using (var file = LocalSourceStore.OpenFile(path))
        using (var extent = open(file, path))
        {
            var problems = extent.Check();
            Assert.Contains(problems, p => p.Contains(expected) && p.Contains(path));
        }
        Assert.Equal(before, Hashing.Sha256File(path));
    }

    public static void Patch(string path, long offset, ReadOnlySpan<byte> bytes)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write);
        f.Position = offset;
        f.Write(bytes);
    }

    public static void PatchU32(string path, long offset, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        Patch(path, offset, b);
    }

    public static void PatchU64(string path, long offset, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        Patch(path, offset, b);
    }
}
