using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>A FLAT or VMFS extent: raw bytes at a fixed offset of the file; every byte is data.</summary>
public sealed class FlatExtent : IExtent
{
    private readonly IReadAt _file;
    private readonly long _start;

    public FlatExtent(IReadAt file, string fileName, long startBytes, long lengthBytes)
    {
        _file = file;
        _start = startBytes;
        FileName = fileName;
        Length = lengthBytes;
        if (startBytes > file.Length || lengthBytes > file.Length - startBytes)
            throw new CorruptDataException($"{fileName}: flat extent", startBytes,
                $"truncated flat extent: needs {lengthBytes} bytes from offset {startBytes}, the file has {file.Length}");
    }

    public string FileName { get; }
    public string Kind => "FLAT";
    public long Length { get; }
    public IReadOnlyList<string> Warnings => [];
    public long GrainBytes => 0;

    public ExtentRun Map(long offset) => new(GrainState.Data, Length - offset);

    public void ReadData(long offset, Span<byte> destination)
    {
        int n = _file.ReadAt(_start + offset, destination);
        if (n != destination.Length)
            throw new CorruptDataException($"{FileName}: flat extent", _start + offset, "file shorter than the extent (truncated since it was opened?)");
    }

    public IReadOnlyList<string> Check() =>
        _file.Length < _start + Length ? [$"{FileName}: truncated flat extent"] : [];

    public void Dispose() { }
}
