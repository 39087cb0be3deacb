using VmdkMount.Core.FileSystems.Ext;

namespace VmdkMount.Core.FileSystems.Xfs;

public sealed partial class XfsFileSystem
{
    /// <summary>
    /// The written extents of a regular file; holes and unwritten (preallocated) extents are left out, and the answer
    /// is clamped to the file's size (extents may run past it). Each step moves to the next run, so the walk is
    /// bounded by the map's run count.
    /// </summary>
    public IEnumerable<(long Offset, long Length)> AllocatedRanges(long id, long offset, long length)
    {
        var inode = RegularFile(id);
        long end = Math.Min(inode.Size, offset + Math.Max(0, length));
        if (offset < 0 || offset >= end) return [];
        return Walk(GetMap(inode), _vol.BlockSize, offset, end);
    }

    private static IEnumerable<(long Offset, long Length)> Walk(ExtDataMap map, int blockSize, long offset, long end)
    {
        long pos = offset;
        for (int step = 0; pos < end && step <= 2 * map.RunCount + 1; step++)
        {
            long logical = pos / blockSize;
            long? physical = map.Map(logical, out long count);
            long runEnd = count >= (long.MaxValue - logical * blockSize) / blockSize ? end : Math.Min(end, (logical + count) * blockSize);
            if (physical is { } p && p != ExtDataMap.Unwritten) yield return (pos, runEnd - pos);
            pos = runEnd;
        }
    }
}
