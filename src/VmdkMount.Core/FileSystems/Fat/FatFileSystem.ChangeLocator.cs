using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>
/// The fast path of `changed` for FAT12/16/32 (<see cref="FatChangeWalk"/>): the differing bytes of the FAT are mapped
/// to the clusters whose entry reads differently, those of the cluster heap to clusters, a differing FAT12/16 root
/// region to the root. Everything else (the boot sector once its geometry is compared, the reserved sectors with
/// FSInfo and the backup boot sector, the FAT copies the reader does not read, the tail past the last cluster) is
/// never read for a listing or a file.
/// </summary>
public sealed partial class FatFileSystem : IChangeLocator
{
    public ChangeLocation Locate(IFileSystem older, VolumeRangeSet differing)
    {
        if (older is not FatFileSystem old) return ChangeLocation.Fallback("the older point's volume is not FAT");
        var a = _boot;
        var b = old._boot;
        if (a.Kind != b.Kind || a.BytesPerSector != b.BytesPerSector || a.ClusterSize != b.ClusterSize || a.FatCount != b.FatCount || a.FatOffset != b.FatOffset
            || a.FatBytesUsed != b.FatBytesUsed || a.RootDirOffset != b.RootDirOffset || a.RootDirLength != b.RootDirLength || a.RootCluster != b.RootCluster
            || a.DataOffset != b.DataOffset || a.ClusterCount != b.ClusterCount)
            return ChangeLocation.Fallback("the boot sector's geometry differs between the points");
        if (differing.IsEmpty) return FatChangeWalk.Nothing();
        var fatDiffering = new HashSet<uint>();
        foreach (var (at, n) in differing.Within(a.FatOffset, a.FatBytesUsed))
        {
            long rel = at - a.FatOffset, end = rel + n;
            // The entries a byte range covers (a FAT12 entry is a byte and a half: both neighbours of a shared byte).
            var (first, last) = a.Kind switch
            {
                FatKind.Fat12 => (rel * 2 / 3 - 1, end * 2 / 3 + 1),
                FatKind.Fat16 => (rel / 2, (end - 1) / 2),
                _ => (rel / 4, (end - 1) / 4),
            };
            for (long c = Math.Max(2, first); c <= Math.Min(last, _fat.MaxCluster); c++)
            {
                if (EntryDiffers(old, (uint)c) && fatDiffering.Add((uint)c) && fatDiffering.Count > FatChangeWalk.WholesaleFatEntries)
                    return ChangeLocation.Fallback($"metadata moved wholesale: more than {FatChangeWalk.WholesaleFatEntries:N0} FAT entries differ between the points");
            }
        }
        bool rootDiffers = a.Kind != FatKind.Fat32 && differing.Overlaps(a.RootDirOffset, a.RootDirLength);
        var heap = new VolumeRangeSet();
        foreach (var (at, n) in differing.Within(a.DataOffset, a.ClusterCount * a.ClusterSize)) heap.Add(at, n);
        return FatChangeWalk.Locate(new ChangeVolume(this), new ChangeVolume(old), heap, fatDiffering, rootDiffers);
    }

    private bool EntryDiffers(FatFileSystem old, uint cluster)
    {
        try
        {
            return _fat.Get(cluster) != old._fat.Get(cluster);
        }
        catch (CorruptDataException)
        {
            return true;
        }
    }

    /// <summary>This point's volume as the change walk reads it.</summary>
    private sealed class ChangeVolume(FatFileSystem fs) : IFatChangeVolume
    {
        public ClusterHeap Heap => fs._heap;

        public IReadOnlyList<FatEntryFacts> Entries(long folderId)
        {
            var entries = fs.Directory(folderId).Entries;
            var facts = new FatEntryFacts[entries.Length];
            for (int i = 0; i < entries.Length; i++)
            {
                var node = fs.Node(entries[i].Node.Id);
                facts[i] = new FatEntryFacts(entries[i].Name, node.Node.Id, FatStreamKey.Of(node.Node, node.FirstCluster, node.Node.Size, false, null));
            }
            return facts;
        }

        public ClusterRuns Clusters(long id)
        {
            if (id == RootNodeId)
                return fs._boot.Kind == FatKind.Fat32 ? DirectoryChain(fs._boot.RootCluster, id) : ClusterRuns.Contiguous(2, 0);
            var node = fs.Node(id);
            return node.Node.Type == FsNodeType.Directory ? DirectoryChain(node.FirstCluster, id) : fs.FileChain(id, node);
        }

        public ClusterRuns FolderClusters(long id, uint firstCluster) =>
            id == RootNodeId ? Clusters(id) : DirectoryChain(firstCluster, id);

        public bool TryScanSubfolders(long id, ClusterRuns clusters, List<(long Id, uint FirstCluster)> subfolders)
        {
            if (id == RootNodeId && fs._boot.Kind != FatKind.Fat32) return false;
            var bytes = fs._heap.ReadWhole(clusters, clusters.ValidClusters * fs._heap.ClusterSize, id, out var offsetOf);
            FatDirectoryReader.ScanSubdirectories(bytes, offsetOf, fs._boot.Kind == FatKind.Fat32, subfolders);
            return true;
        }

        private ClusterRuns DirectoryChain(uint first, long id) =>
            fs._fat.Chain(first, -1, Math.Max(1, MaxDirectoryBytes / fs._heap.ClusterSize), $"directory at entry {id}", id);

        public bool IsFree(uint cluster)
        {
            try
            {
                return fs._fat.Get(cluster) == 0;
            }
            catch (CorruptDataException)
            {
                return false;
            }
        }
    }
}
