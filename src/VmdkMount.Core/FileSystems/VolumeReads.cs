using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems;

/// <summary>
/// Exact reads from a volume for the readers (ext, XFS) whose structures and file data must come whole: a short read
/// means the image is cut short, reported naming the volume and what was read. The message is built only on failure,
/// so the hot path allocates nothing.
/// </summary>
internal static class VolumeReads
{
    public static void ReadExactly(IReadAt data, string volume, long offset, Span<byte> destination, string what)
    {
        int total = 0;
        while (total < destination.Length)
        {
            int n = data.ReadAt(offset + total, destination[total..]);
            if (n <= 0) throw Truncated(data, $"{volume} {what}", offset, total, destination.Length);
            total += n;
        }
    }

    /// <summary>The same for file data: the message names the inode.</summary>
    public static void ReadFileData(IReadAt data, string volume, long offset, Span<byte> destination, ulong inode)
    {
        int total = 0;
        while (total < destination.Length)
        {
            int n = data.ReadAt(offset + total, destination[total..]);
            if (n <= 0) throw Truncated(data, $"{volume} inode {inode} data", offset, total, destination.Length);
            total += n;
        }
    }

    private static CorruptDataException Truncated(IReadAt data, string where, long offset, int done, int wanted) =>
        new(where, offset + done, $"volume ends at {data.Length}: truncated image? needed {wanted} bytes at {offset}");
}
