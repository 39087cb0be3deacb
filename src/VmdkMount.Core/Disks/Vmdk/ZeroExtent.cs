namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>A ZERO extent (no file): reads as zeros and hides any parent.</summary>
public sealed class ZeroExtent(long lengthBytes) : IExtent
{
    public string FileName => "ZERO";
    public string Kind => "ZERO";
    public long Length { get; } = lengthBytes;
    public IReadOnlyList<string> Warnings => [];
    public long GrainBytes => 0;
    public ExtentRun Map(long offset) => new(GrainState.Zero, Length - offset);
    public void ReadData(long offset, Span<byte> destination) => destination.Clear();
    public IReadOnlyList<string> Check() => [];
    public void Dispose() { }
}
