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
/// hold an entry that differs (with all their ancestors, the root included), and the node ids whose record or data
/// may differ (every other node reads the same in both points); or, when the change cannot be mapped (metadata moved
/// wholesale, bytes no record explains), the reason the volume must be compared by walking both trees.
/// </summary>
public sealed class ChangeLocation
{
    private static readonly HashSet<long> None = new();

    private ChangeLocation(IReadOnlySet<long> newer, IReadOnlySet<long> older, IReadOnlySet<long> newerNodes, IReadOnlySet<long> olderNodes,
        Func<long, long, IReadOnlyList<EntryOfInterest>?>? namesOfInterest, string? fallback)
    {
        NewerFolders = newer; OlderFolders = older; NewerNodes = newerNodes; OlderNodes = olderNodes; _namesOfInterest = namesOfInterest;
        FallbackReason = fallback;
    }

    private readonly Func<long, long, IReadOnlyList<EntryOfInterest>?>? _namesOfInterest;

    /// <param name="namesOfInterest">See <see cref="NamesOfInterest"/>; null: every visited folder is listed in both points.</param>
    public static ChangeLocation Folders(IReadOnlySet<long> newer, IReadOnlySet<long> older, IReadOnlySet<long> newerNodes, IReadOnlySet<long> olderNodes,
        Func<long, long, IReadOnlyList<EntryOfInterest>?>? namesOfInterest = null) =>
        new(newer, older, newerNodes, olderNodes, namesOfInterest, null);

    public static ChangeLocation Fallback(string reason) => new(None, None, None, None, null, reason);

    /// <summary>
    /// For a visited folder pair (the newer point's folder, the older point's at the same path): the entries that may
    /// differ (in one listing only, naming another node in each, naming a node that may differ, or leading to a folder
    /// to visit), each with the name the listing shows and whether each point's listing shows it (a lookup there answers
    /// that very entry). Every other entry is the same node, unchanged, in both points, so a comparison may look these
    /// few up instead of listing the folder twice. Null when the reader cannot tell (list the folder in both points).
    /// </summary>
    public IReadOnlyList<EntryOfInterest>? NamesOfInterest(long newerFolder, long olderFolder) => _namesOfInterest?.Invoke(newerFolder, olderFolder);

    /// <summary>Nodes of the newer point whose record or data may differ from the older point's node of the same id.</summary>
    public IReadOnlySet<long> NewerNodes { get; }

    /// <summary>Nodes of the older point whose record or data may differ from the newer point's node of the same id.</summary>
    public IReadOnlySet<long> OlderNodes { get; }

    /// <summary>
    /// True when a node of the same id in both points is known to read the same (neither is among the nodes that may
    /// differ), so a comparison need not look at it.
    /// </summary>
    public bool Unchanged(long newerId, long olderId) => newerId == olderId && !NewerNodes.Contains(newerId) && !OlderNodes.Contains(olderId);

    /// <summary>Folder ids in the newer point to visit.</summary>
    public IReadOnlySet<long> NewerFolders { get; }

    /// <summary>Folder ids in the older point to visit.</summary>
    public IReadOnlySet<long> OlderFolders { get; }

    /// <summary>Not null: the folders could not be located; why (said in the output when the volume is walked).</summary>
    public string? FallbackReason { get; }
}

/// <summary>An entry of a folder pair that may differ: its shown name, and whether each point's listing shows it.</summary>
public readonly record struct EntryOfInterest(string Name, bool InNewer, bool InOlder);
