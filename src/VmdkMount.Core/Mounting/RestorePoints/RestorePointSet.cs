using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.Mounting.RestorePoints;

/// <summary>
/// Every restore point of one chain (index 0 = the newest link given, as `info` prints it), each opened on first use
/// as a <see cref="MountedDisk"/> over a view of the one open chain (<see cref="VmdkDisk.AsOf"/>): the points share
/// the links' open files and grain-table caches, and every cache draws on the one budget, so a 120-link chain costs
/// what its links cost once, not once per point.
/// </summary>
public sealed class RestorePointSet : IDisposable
{
    private readonly VmdkDisk _chain;
    private readonly Lazy<MountedDisk>[] _points;

    private RestorePointSet(VmdkDisk chain, FileSystemOptions fsOptions)
    {
        _chain = chain;
        _points = new Lazy<MountedDisk>[chain.Links.Count];
        for (int i = 0; i < _points.Length; i++)
        {
            int index = i;
            _points[i] = new Lazy<MountedDisk>(() => MountedDisk.Over(chain.AsOf(index), fsOptions), LazyThreadSafetyMode.ExecutionAndPublication);
        }
    }

    /// <summary>Opens the chain of <paramref name="source"/> (as of <see cref="DiskOpenOptions.AtPoint"/> when given): its links are the points.</summary>
    public static RestorePointSet Open(string source, DiskOpenOptions options, FileSystemOptions fsOptions)
    {
        var disk = DiskOpener.Open(source, options with { BlockCache = false });
        if (disk is not VmdkDisk chain)
        {
            disk.Dispose();
            throw new ArgumentException($"{source}: not a VMDK chain, it has no restore points");
        }
        return new RestorePointSet(chain, fsOptions);
    }

    /// <summary>The whole chain (point 0 and its parents).</summary>
    public VmdkDisk Chain => _chain;

    public int Count => _points.Length;

    public VmdkLink Link(int point) => _chain.Links[point];

    public int Resolve(string point) => RestorePointName.Resolve(_chain.Links, point, Path.GetFullPath);

    /// <summary>The point opened (volumes scanned, readers opened as asked), once.</summary>
    public MountedDisk Point(int point) => _points[point].Value;

    /// <summary>True when the point has been opened (tests check that opening is lazy).</summary>
    public bool IsOpen(int point) => _points[point].IsValueCreated;

    /// <summary>
    /// The parts of [diskOffset, diskOffset+length) that some link from point <paramref name="newer"/> down to (not
    /// including) point <paramref name="older"/> holds: only there can the two points read differently. A part two
    /// links hold is given once per link. Cost follows the runs the links report for the range.
    /// </summary>
    public IEnumerable<(long Offset, long Length)> Rewritten(int newer, int older, long diskOffset, long length)
    {
        long end = Math.Min(_chain.Length, diskOffset + length);
        for (int link = newer; link < older; link++)
        {
            var l = _chain.Links[link];
            for (long pos = Math.Max(0, diskOffset); pos < end;)
            {
                var run = l.Map(pos);
                long runEnd = Math.Min(end, pos + Math.Max(1, run.Length));
                if (run.State != GrainState.Unallocated) yield return (pos, runEnd - pos);
                pos = runEnd;
            }
        }
    }

    /// <summary>
    /// Where volume bytes sit on the disk, when a volume is one contiguous range of this one disk (a partition or the
    /// whole disk); null for a volume assembled from pieces (LVM), whose allocation cannot be asked this way.
    /// </summary>
    public static long? DiskOffsetOf(Volume volume) =>
        volume.Scheme is "lvm" || volume.Disks.Count != 1 ? null : volume.Offset;

    public void Dispose()
    {
        foreach (var p in _points)
            if (p.IsValueCreated) p.Value.Dispose();
        _chain.Dispose();
    }
}
