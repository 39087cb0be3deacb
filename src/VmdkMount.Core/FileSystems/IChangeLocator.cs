namespace VmdkMount.Core.FileSystems;

/// <summary>
/// Optional reader capability: which folders of a volume can list differently in two restore points, found from the
/// bytes that differ between them (mapped to the records that own them) instead of from a walk of the whole tree. A
/// comparison that visits only these folders (and every path below a folder added or deleted) then answers exactly
/// what a walk of both trees answers, at a cost that follows what changed.
/// </summary>
public interface IChangeLocator
{
    /// <summary>
    /// This reader is the newer point's; <paramref name="older"/> the same volume's reader in the older point (same
    /// format, same place on the disk). <paramref name="differing"/> holds every volume byte range where the two points
    /// read differently (outside them every byte is the same in both). The answer is a <see cref="ChangeLocation"/>
    /// whose folder sets are closed under their ancestors, or one that says why the caller must walk both trees.
    /// </summary>
    ChangeLocation Locate(IFileSystem older, VolumeRangeSet differing);
}

/// <summary>
/// What <see cref="IChangeLocator.Locate"/> found: the folder node ids of each point that may list differently or
/// hold an entry that differs (with all their ancestors, the root included), or, when the change cannot be mapped
/// (metadata moved wholesale, bytes no record explains), the reason the volume must be compared by walking both trees.
/// </summary>
public sealed class ChangeLocation
{
    private ChangeLocation(IReadOnlySet<long> newer, IReadOnlySet<long> older, string? fallback)
    {
        NewerFolders = newer; OlderFolders = older; FallbackReason = fallback;
    }

    public static ChangeLocation Folders(IReadOnlySet<long> newer, IReadOnlySet<long> older) => new(newer, older, null);

    public static ChangeLocation Fallback(string reason) => new(new HashSet<long>(), new HashSet<long>(), reason);

    /// <summary>Folder ids in the newer point to visit.</summary>
    public IReadOnlySet<long> NewerFolders { get; }

    /// <summary>Folder ids in the older point to visit.</summary>
    public IReadOnlySet<long> OlderFolders { get; }

    /// <summary>Not null: the folders could not be located; why (said in the output when the volume is walked).</summary>
    public string? FallbackReason { get; }
}
