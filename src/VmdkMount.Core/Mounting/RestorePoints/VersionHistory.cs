using VmdkMount.Core.FileSystems;

namespace VmdkMount.Core.Mounting.RestorePoints;

/// <summary>
/// One point where a path exists: its node there, and whether it reads differently from the next newer point where
/// the path exists (null for the newest), with how that was decided.
/// </summary>
public sealed record PathVersion(int Point, FsNode Node, bool? Changed, SamenessEvidence? By, MountInode Inode, Volumes.Volume Volume);

/// <summary>
/// Every version of one path, newest point first. Points are opened one by one over the shared chain; whether a
/// version differs from the next newer one comes from the allocation (<see cref="NodeSameness"/>): only when a link
/// between the two wrote where the file is read from are the two versions' bytes compared.
/// </summary>
public static class VersionHistory
{
    public static IReadOnlyList<PathVersion> Of(RestorePointSet points, VolumePath where)
    {
        var versions = new List<PathVersion>();
        PathVersion? newer = null;
        for (int i = 0; i < points.Count; i++)
        {
            var disk = points.Point(i);
            var volume = disk.Layout.Volumes.FirstOrDefault(v => v.Id == where.Volume && v.Mountable);
            if (volume is null) continue;
            var tree = new MountTree(disk, new MountTreeOptions { SingleVolume = where.Volume, Retention = NodeRetention.UntilPassed });
            if (tree.Resolve(where.Path) is not { Kind: MountNodeKind.FsNode } inode) continue;
            bool? changed = null;
            SamenessEvidence? by = null;
            if (newer is not null)
            {
                var (same, evidence) = NodeSameness.Compare(points, newer.Point, i, newer.Volume, volume, newer.Inode, inode);
                (changed, by) = (!same, evidence);
            }
            var version = new PathVersion(i, inode.Node!, changed, by, inode, volume);
            versions.Add(version);
            newer = version;
        }
        return versions;
    }
}
