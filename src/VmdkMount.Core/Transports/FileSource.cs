using Microsoft.Win32.SafeHandles;

namespace VmdkMount.Core.Transports;

/// <summary>
/// A local file opened read-only and shared, read with <see cref="RandomAccess.Read(SafeFileHandle, Span{byte}, long)"/>:
/// positional, so many threads can read one handle without a seek race. Opened by <see cref="RegularFileOpener"/>, so a
/// device, FIFO or kernel file given as a raw image is refused instead of read (or waited on).
/// </summary>
public sealed class FileSource : IReadAt, IDisposable
{
    private readonly SafeFileHandle _handle;

    /// <param name="path">the file</param>
    /// <param name="confineTo">when given, the real path of a folder the file must lie under (--confine)</param>
    public FileSource(string path, string? confineTo = null)
    {
        Path = path;
        var opened = RegularFileOpener.Open(path, confineTo);
        _handle = opened.Handle;
        Length = opened.Length;
    }

    public string Path { get; }

    public long Length { get; }

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset >= Length || destination.IsEmpty) return 0;
        if (destination.Length > Length - offset) destination = destination[..(int)(Length - offset)];
        int total = 0;
        while (total < destination.Length)
        {
            int n = RandomAccess.Read(_handle, destination[total..], offset + total);
            if (n <= 0) break;
            total += n;
        }
        return total;
    }

    public void Dispose() => _handle.Dispose();

    public override string ToString() => Path;
}
