using VmdkMount.Core.FileSystems;

namespace VmdkMount.Core.Mounting.RestorePoints;

public enum ChangeKind
{
    Added,
    Deleted,
    Modified,
}

/// <summary>One path of a volume that differs between two points; <see cref="Type"/> is the newer point's (the older's when deleted).</summary>
public readonly record struct PointChange(string Path, ChangeKind Kind, FsNodeType Type);

/// <summary>
/// The changes of one volume between two points, sorted by path. <see cref="Method"/> says how they were found:
/// `tree` (both trees walked and compared), `added`/`deleted` (the volume exists in one point only, listed whole).
/// </summary>
public sealed record VolumeChanges(string VolumeId, string Method, IReadOnlyList<PointChange> Changes);
