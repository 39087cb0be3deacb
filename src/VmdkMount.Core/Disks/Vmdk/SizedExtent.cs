namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// Lays an extent out by the descriptor's SIZE when its own header says otherwise: bytes past the
/// extent's own end read as zeros; bytes past the descriptor size are invisible.
/// </summary>
public sealed class SizedExtent : IExtent
{
    private readonly IExtent _inner;

    public SizedExtent(IExtent inner, long lengthBytes)
    {
        _inner = inner;
        Length = lengthBytes;
    }

    public string FileName => _inner.FileName;
    public string Kind => _inner.Kind;
    public long Length { get; }
    public IExtent Inner => _inner;
    public IReadOnlyList<string> Warnings => _inner.Warnings;
    public long GrainBytes => _inner.GrainBytes;

    public ExtentRun Map(long offset)
    {
        if (offset >= _inner.Length) return new ExtentRun(GrainState.Zero, Length - offset);
        var r = _inner.Map(offset);
        return r with { Length = Math.Min(r.Length, Length - offset) };
    }

    public void ReadData(long offset, Span<byte> destination)
    {
        // Past the inner extent's end the range is Zero (see Map): the inner extent is never asked about it.
        long inInner = Math.Clamp(_inner.Length - offset, 0, destination.Length);
        if (inInner > 0) _inner.ReadData(offset, destination[..(int)inInner]);
        destination[(int)inInner..].Clear();
    }
    public IReadOnlyList<string> Check() => _inner.Check();
    public void Dispose() => _inner.Dispose();
}
