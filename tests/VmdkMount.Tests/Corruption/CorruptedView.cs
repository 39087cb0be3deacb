using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Corruption;

/// <summary>An intact image seen through a case's patches and cut, in memory: the image itself is never written.</summary>
public sealed class CorruptedView(IReadAt intact, IReadOnlyList<Patch> patches, long? truncateTo) : IReadAt
{
    public long Length { get; } = Math.Min(intact.Length, truncateTo ?? long.MaxValue);

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset >= Length) return 0;
        var span = destination[..(int)Math.Min(destination.Length, Length - offset)];
        int n = intact.ReadAt(offset, span);
        foreach (var p in patches)
        {
            long from = Math.Max(p.Offset, offset), to = Math.Min(p.Offset + p.Bytes.Length, offset + n);
            if (from < to) p.Bytes.AsSpan((int)(from - p.Offset), (int)(to - from)).CopyTo(span[(int)(from - offset)..]);
        }
        return n;
    }
}
