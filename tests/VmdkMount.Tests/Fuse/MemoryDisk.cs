using VmdkMount.Core.Disks;

namespace VmdkMount.Tests.Fuse;

/// <summary>An in-memory disk whose allocation map is given: the rest reads as zeros.</summary>
internal sealed class MemoryDisk(byte[] data, IReadOnlyList<AllocatedRange> allocated) : IVirtualDisk
{
    public string Source => "memory.vmdk";
    public long Length => data.Length;
    public IReadOnlyList<string> Warnings => [];
    public IReadOnlyList<string> SourceFiles => [];

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset >= data.Length) return 0;
        int n = (int)Math.Min(destination.Length, data.Length - offset);
        data.AsSpan((int)offset, n).CopyTo(destination);
        return n;
    }

    public IEnumerable<AllocatedRange> QueryAllocated(long offset, long length)
    {
        long end = offset + length;
        foreach (var r in allocated)
        {
            if (r.End <= offset || r.Offset >= end) continue;
            long s = Math.Max(r.Offset, offset), e = Math.Min(r.End, end);
            yield return new AllocatedRange(s, e - s);
        }
    }

    public void Dispose() { }
}
