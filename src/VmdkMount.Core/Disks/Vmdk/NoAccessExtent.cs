using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>A NOACCESS extent: its range exists but reads must fail (EIO), never return zeros.</summary>
public sealed class NoAccessExtent(string fileName, long lengthBytes) : IExtent
{
    public string FileName { get; } = fileName;
    public string Kind => "NOACCESS";
    public long Length { get; } = lengthBytes;
    public IReadOnlyList<string> Warnings => [];
    public long GrainBytes => 0;
    public ExtentRun Map(long offset) => new(GrainState.NoAccess, Length - offset);

    public void ReadData(long offset, Span<byte> destination) =>
        throw new SourceUnavailableException(FileName, $"NOACCESS extent: data at extent offset {offset} may not be read");

    public IReadOnlyList<string> Check() => [];
    public void Dispose() { }
}
