using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ext;

public sealed partial class ExtFileSystem
{
    /// <summary>
    /// The written runs of the extent tree or block map; holes and unwritten extents are left out. Inline data is
    /// reported whole. Each step moves to the next run, so the walk is bounded by the map's run count.
    /// </summary>
    public IEnumerable<(long Offset, long Length)> AllocatedRanges(long id, long offset, long length)
    {
        var inode = Inode(id);
        if (inode.Type != ExtInode.TypeFile)
            throw new FileReadException($"{_vol.Name} inode {id}", inode.IsDirectory ? "is a directory" : "is not a regular file");
        if (inode.Has(ExtInode.FlagEncrypt))
            throw new FileReadException($"{_vol.Name} inode {id}", "file contents are encrypted (fscrypt); the key is not available");
        long end = Math.Min(inode.Size, offset + Math.Max(0, length));
        if (offset < 0 || offset >= end) return [];
        if (inode.Has(ExtInode.FlagInlineData)) return [(offset, end - offset)];
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
