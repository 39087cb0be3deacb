using VmdkMount.Core.Errors;
namespace VmdkMount.Core.Transports;

/// <summary>A window [start, start+length) of another source, itself addressed from 0. A partition is one.</summary>
public sealed class SubRange : IReadAt
{
    private readonly IReadAt _inner;
    private readonly long _start;

    public SubRange(IReadAt inner, long start, long length)
    {
        if (start < 0 || length < 0) throw new ContractViolationException($"a window of {length} bytes at {start} is not a range");
        _inner = inner;
        _start = start;
        Length = length;
    }

    public long Length { get; }

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0) throw new ContractViolationException($"read at negative offset {offset} of a window");
        if (offset >= Length || destination.IsEmpty) return 0;
        if (destination.Length > Length - offset) destination = destination[..(int)(Length - offset)];
        return _inner.ReadAt(_start + offset, destination);
    }
}
