namespace VmdkMount.Core.FileSystems;

/// <summary>
/// Optional reader capability: which parts of a file may hold data, so a copy can skip holes without reading them
/// (a 1 PiB sparse file with 1 MiB of data costs 1 MiB of reads). A reader that has no holes need not implement it.
/// </summary>
public interface IFileAllocationMap
{
    /// <summary>
    /// The byte ranges within [offset, offset+length) of file <paramref name="id"/>'s main data that may hold non-zero
    /// bytes, ascending, clamped to the file's size. Holes, sparse runs, unwritten (preallocated) extents and bytes past
    /// the valid data length are left out; everything else (resident, compressed, inline) is reported as allocated.
    /// Raises the same errors as <see cref="IFileSystem.Read"/> for a file whose data cannot be read.
    /// </summary>
    IEnumerable<(long Offset, long Length)> AllocatedRanges(long id, long offset, long length);
}
