using Microsoft.Win32.SafeHandles;

namespace VmdkMount.Core.Transports;

/// <summary>
/// A local file opened read-only and shared, read with <see cref="RandomAccess.Read(SafeFileHandle, Span{byte}, long)"/>:
/// positional, so many threads can read one handle without a seek race.
/// </summary>
public sealed class FileSource : IReadAt, IDisposable
{
    private readonly SafeFileHandle _handle;

    public FileSource(string path)
    {
        Path = path;
        try
        {
            _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Errors.SourceUnavailableException(path, e.Message, e);
        }
        Length = RandomAccess.GetLength(_handle);
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
