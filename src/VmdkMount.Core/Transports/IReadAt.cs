namespace VmdkMount.Core.Transports;

/// <summary>
/// Positional, thread-safe read access to a run of bytes: a file, a virtual disk, a volume.
/// Every layer speaks this one shape, so a filesystem reader does not care whether its bytes come
/// from a raw image, a 2,000-link VMDK chain or an LVM logical volume.
/// </summary>
public interface IReadAt
{
    /// <summary>Length in bytes.</summary>
    long Length { get; }

    /// <summary>
    /// Reads up to <c>destination.Length</c> bytes at <paramref name="offset"/>. Returns the count read, which is
    /// smaller only at the end (0 at or past <see cref="Length"/>). Safe to call from many threads at once.
    /// Corrupt or unreadable data raises a <see cref="Errors.VmdkMountException"/>, never returns garbage.
    /// </summary>
    int ReadAt(long offset, Span<byte> destination);
}

public static class ReadAtExtensions
{
    /// <summary>Reads exactly <c>destination.Length</c> bytes or throws <see cref="Errors.CorruptDataException"/> naming what was cut short.</summary>
    public static void ReadExactly(this IReadAt source, long offset, Span<byte> destination, string what)
    {
        int total = 0;
        while (total < destination.Length)
        {
            int n = source.ReadAt(offset + total, destination[total..]);
            if (n <= 0)
                throw new Errors.CorruptDataException(what, offset + total,
                    $"truncated: needed {destination.Length} bytes at offset {offset}, only {total} available (length {source.Length})");
            total += n;
        }
    }
}
