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
/// `located` (the fast path: the bytes that differ mapped to the folders that can differ, only those walked), `tree`
/// (both trees walked and compared), `added`/`deleted` (the volume exists in one point only, listed whole).
/// <see cref="Note"/>: why a volume was walked whole though the fast path was wanted (null when it was not wanted).
/// </summary>
public sealed record VolumeChanges(string VolumeId, string Method, IReadOnlyList<PointChange> Changes, string? Note = null);
