using System.Collections.Concurrent;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Mounting.RestorePoints;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.Mounting;

/// <summary>
/// The `--restore-points` shape of the tree: the root holds one folder per restore point (named by its link file
/// without `.vmdk`), each holding that point's volume folders as a plain mount does. A point is opened when its folder
/// is first looked into, so mounting a 120-link chain costs what mounting one point does; every point's readers draw
/// on the one cache budget the points were opened with.
/// </summary>
public sealed partial class MountTree
{
    /// <summary>Volume indexes of point P are P * this + the volume's index in that point (node keys stay distinct across points).</summary>
    private const int VolumesPerPoint = 4096;

    private readonly RestorePointSet? _points;
    private readonly ConcurrentDictionary<int, Lazy<IReadOnlyList<MountInode>>> _pointChildren = new();

    /// <summary>A tree of every restore point of <paramref name="points"/> (which the caller keeps open and closes).</summary>
    public MountTree(RestorePointSet points, MountTreeOptions options, Action<string>? log = null)
        : this(points.Chain, [], _ => throw new ContractViolationException("a restore-points tree opens volumes per point"),
            options.SingleVolume is null && !options.RawImage ? options : throw new ArgumentException("--restore-points shows every volume of every point: it takes neither --volume nor --raw"), log)
    {
        _points = points;
    }

    /// <summary>The volume a node lives on (its point's volume in a restore-points tree); null for the root and the folders above volumes.</summary>
    public Volume? VolumeAt(int volumeIndex)
    {
        if (volumeIndex < 0) return null;
        if (_points is null) return volumeIndex < Volumes.Count ? Volumes[volumeIndex] : null;
        var volumes = _points.Point(volumeIndex / VolumesPerPoint).Layout.Volumes;
        return volumeIndex % VolumesPerPoint < volumes.Count ? volumes[volumeIndex % VolumesPerPoint] : null;
    }

    private IReadOnlyList<MountInode> BuildPointFolders()
    {
        var folders = new List<MountInode>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < _points!.Count; i++)
        {
            string name = RestorePointName.FolderName(_points.Link(i));
            // Two links of one chain with the same file name (in different folders): the older one is shown by index.
            if (!seen.Add(name)) name = $"{name}@{i}";
            var folder = new MountInode(NextIno(), MountNodeKind.PointFolder, Root, name, -1, null, null, null) { Point = i, Pinned = true };
            _byIno[folder.Ino] = folder;
            folders.Add(folder);
        }
        return folders;
    }

    private IReadOnlyList<MountInode> PointChildren(MountInode folder) =>
        _pointChildren.GetOrAdd(folder.Point, p => new Lazy<IReadOnlyList<MountInode>>(() => BuildPointChildren(folder),
            LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    private IReadOnlyList<MountInode> BuildPointChildren(MountInode folder)
    {
        if (folder.Point >= 0 && VolumesPerPoint * (long)folder.Point > int.MaxValue - VolumesPerPoint)
            throw new UnsupportedFeatureException(folder.Name, $"more than {int.MaxValue / VolumesPerPoint} restore points in one mount");
        var disk = _points!.Point(folder.Point);
        var children = new List<MountInode>();
        var volumes = disk.Layout.Volumes;
        for (int i = 0; i < volumes.Count && i < VolumesPerPoint; i++)
        {
            var volume = volumes[i];
            if (!volume.Mountable) continue;
            int index = folder.Point * VolumesPerPoint + i;
            // The volume's id as links and messages see it: symlinks to absolute targets resolve under POINT/VOL.
            string id = $"{folder.Name}/{volume.Id}";
            MountInode child;
            try
            {
                var fs = disk.OpenFileSystem(volume.Id);
                child = new MountInode(NextIno(), MountNodeKind.FsNode, folder, volume.Id, index, id, fs, fs.Stat(fs.RootId));
                _byNode[(index, fs.RootId)] = child;
            }
            catch (VmdkMountException e)
            {
                _log($"{id}: cannot open the {volume.FileSystem} filesystem: {e.Message}");
                child = new MountInode(NextIno(), MountNodeKind.UnreadableVolume, folder, volume.Id, index, id, null, null, e.Message);
            }
            child.Pinned = true;
            _byIno[child.Ino] = child;
            children.Add(child);
        }
        return children;
    }
}
