namespace VmdkMount.Core.FileSystems.Ext;

public sealed partial class ExtFileSystem : IFileSystemCheck
{
    /// <summary>Group descriptors checked at most (1 M groups: a 128 TiB filesystem of 4 KiB blocks; about 32 MiB of descriptors).</summary>
    private const uint MaxCheckedGroups = 1u << 20;

    /// <summary>
    /// The superblock checksum (metadata_csum) and every group descriptor: its checksum and its inode table lying
    /// inside the filesystem. Reads the descriptor blocks only (cached), bounded by <see cref="MaxCheckedGroups"/>.
    /// </summary>
    public IEnumerable<FsProblem> Check(CancellationToken cancel)
    {
        if (_vol.Sb.ChecksumProblem is { } sb) yield return new FsProblem("superblock", sb);
        foreach (var (structure, message) in _vol.CheckGroupDescriptors(MaxCheckedGroups, cancel))
            yield return new FsProblem(structure, message);
    }
}
