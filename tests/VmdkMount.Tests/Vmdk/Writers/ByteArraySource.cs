using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Vmdk.Writers;

/// <summary>An in-memory IReadAt: a flattened parent while tests stack delta extents by hand.</summary>
public sealed class ByteArraySource(byte[] data) : IReadAt
{
    public long Length => data.Length;

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset >= data.Length || destination.IsEmpty) return 0;
        int n = (int)Math.Min(destination.Length, data.Length - offset);
        data.AsSpan((int)offset, n).CopyTo(destination);
        return n;
    }
}
