using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>
/// The fast path of `changed` for exFAT (<see cref="FatChangeWalk"/>). The differing bytes of the FAT are mapped to
/// the clusters whose entry reads differently, those of the cluster heap to clusters. The boot regions (VolumeFlags and
/// PercentInUse change on every mount) are read for geometry only, compared here; the allocation bitmap is read by no
/// listing or file, so its clusters are explained, and it tells which clusters are free (a NoFatChain file's FAT
/// entries, and a free cluster's, mean nothing). The up-case table decides which names a lookup finds: if it differs,
/// the volume is walked whole.
/// </summary>
public sealed partial class ExFatFileSystem : IChangeLocator
{
    public ChangeLocation Locate(IFileSystem older, VolumeRangeSet differing)
    {
        if (older is not ExFatFileSystem old) return ChangeLocation.Fallback("the older point's volume is not exFAT");
        var a = _boot;
        var b = old._boot;
        if (a.BytesPerSector != b.BytesPerSector || a.ClusterSize != b.ClusterSize || a.FatOffset != b.FatOffset || a.FatLength != b.FatLength
            || a.HeapOffset != b.HeapOffset || a.ClusterCount != b.ClusterCount || a.RootCluster != b.RootCluster)
            return ChangeLocation.Fallback("the boot sector's geometry differs between the points");
        if (differing.IsEmpty) return FatChangeWalk.Nothing();
        if (_upCaseAt != old._upCaseAt) return ChangeLocation.Fallback("the up-case table is another in each point");
        ClusterRuns newBitmap, oldBitmap;
        long bitmapBytes;
        try
        {
            if (AllocationBitmap(out newBitmap, out bitmapBytes) is { } why) return ChangeLocation.Fallback(why);
            if (old.AllocationBitmap(out oldBitmap, out long oldBytes) is { } whyOld) return ChangeLocation.Fallback(whyOld);
            if (oldBytes != bitmapBytes) return ChangeLocation.Fallback("the allocation bitmap has another size in each point");
        }
        catch (Exception e) when (e is CorruptDataException or FileReadException)
        {
            return ChangeLocation.Fallback($"the allocation bitmap cannot be read ({e.Message})");
        }
        var fatDiffering = new HashSet<uint>();
        foreach (var (at, n) in differing.Within(a.FatOffset, a.FatLength))
        {
            long rel = at - a.FatOffset;
            for (long c = Math.Max(2, rel / 4); c <= Math.Min((rel + n - 1) / 4, _fat.MaxCluster); c++)
                if (EntryDiffers(old, (uint)c) && fatDiffering.Add((uint)c) && fatDiffering.Count > FatChangeWalk.WholesaleFatEntries)
                    return ChangeLocation.Fallback($"metadata moved wholesale: more than {FatChangeWalk.WholesaleFatEntries:N0} FAT entries differ between the points");
        }
        var heap = new VolumeRangeSet();
        foreach (var (at, n) in differing.Within(a.HeapOffset, a.ClusterCount * a.ClusterSize)) heap.Add(at, n);
        if (_upCaseAt is { } u)
        {
            var upCase = _fat.Chain(u.FirstCluster, _heap.ClustersFor((long)u.Length), -1, "up-case table", u.EntryOffset);
            if (Touches(upCase, heap, fatDiffering)) return ChangeLocation.Fallback("the up-case table differs between the points");
        }
        Explain(newBitmap, heap, fatDiffering);
        Explain(oldBitmap, heap, fatDiffering);
        return FatChangeWalk.Locate(new ChangeVolume(this, newBitmap, bitmapBytes), new ChangeVolume(old, oldBitmap, bitmapBytes), heap, fatDiffering, false);
    }

    private bool EntryDiffers(ExFatFileSystem old, uint cluster)
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

    /// <summary>The root's one allocation bitmap (its clusters and bytes), or why it cannot be used.</summary>
    private string? AllocationBitmap(out ClusterRuns runs, out long length)
    {
        runs = ClusterRuns.Contiguous(2, 0);
        length = 0;
        var root = _fat.Chain(_boot.RootCluster, -1, Math.Max(1, MaxDirectoryBytes / _heap.ClusterSize), "root directory", 0);
        if (root.Problem is not null) return $"the root directory cannot be read ({root.Problem})";
        var bytes = _heap.ReadWhole(root, root.ValidClusters * _heap.ClusterSize, RootNodeId, out _);
        var bitmaps = ExFatDirectoryEntrySet.AllocationBitmaps(bytes);
        if (bitmaps.Count != 1) return $"the root directory has {bitmaps.Count} allocation bitmaps (one expected; TexFAT keeps two)";
        var (first, bitmapLength, _) = bitmaps[0];
        if (bitmapLength < (_boot.ClusterCount + 7UL) / 8) return $"an allocation bitmap of {bitmapLength} bytes cannot describe {_boot.ClusterCount} clusters";
        length = (long)bitmapLength;
        runs = _fat.Chain(first, _heap.ClustersFor(length), -1, "allocation bitmap", 0);
        return runs.Problem is null ? null : $"the allocation bitmap cannot be read ({runs.Problem})";
    }

    private bool Touches(ClusterRuns runs, VolumeRangeSet heap, HashSet<uint> fat)
    {
        long index = 0;
        while (runs.TryMap(index, out uint first, out long count))
        {
            if (heap.Overlaps(_heap.OffsetOf(first), count * _heap.ClusterSize)) return true;
            for (long k = 0; k < count; k++)
                if (fat.Contains((uint)(first + k))) return true;
            index += count;
        }
        return false;
    }

    private void Explain(ClusterRuns runs, VolumeRangeSet heap, HashSet<uint> fat)
    {
        long index = 0;
        while (runs.TryMap(index, out uint first, out long count))
        {
            heap.Remove(_heap.OffsetOf(first), count * _heap.ClusterSize);
            for (long k = 0; k < count; k++) fat.Remove((uint)(first + k));
            index += count;
        }
    }

    /// <summary>This point's volume as the change walk reads it, with its allocation bitmap read in blocks on demand.</summary>
    private sealed class ChangeVolume(ExFatFileSystem fs, ClusterRuns bitmap, long bitmapBytes) : IFatChangeVolume
    {
        private const int BitmapBlock = 64 * 1024;
        private readonly Dictionary<long, byte[]> _bitmapBlocks = [];

        public ClusterHeap Heap => fs._heap;

        public IReadOnlyList<FatEntryFacts> Entries(long folderId)
        {
            var entries = fs.Directory(folderId).Entries;
            var facts = new FatEntryFacts[entries.Length];
            for (int i = 0; i < entries.Length; i++)
            {
                var node = fs.Node(entries[i].Node.Id);
                facts[i] = new FatEntryFacts(entries[i].Name, node.Node.Id, FatStreamKey.Of(node.Node, node.FirstCluster, node.ValidLength, node.NoFatChain, node.Problem));
            }
            return facts;
        }

        public ClusterRuns Clusters(long id)
        {
            if (id == RootNodeId)
                return fs._fat.Chain(fs._boot.RootCluster, -1, Math.Max(1, MaxDirectoryBytes / fs._heap.ClusterSize), "root directory", 0);
            var node = fs.Node(id);
            if (node.Node.Type == FsNodeType.Directory) return fs.StreamRuns(id, node, "directory");
            // A file's whole allocation (past ValidDataLength too: those clusters are its own, though they read as zeros).
            long needed = fs._heap.ClustersFor(node.Node.Size);
            if (needed == 0 || node.FirstCluster < 2) return ClusterRuns.Contiguous(2, 0);
            if (node.NoFatChain) return ClusterRuns.Contiguous(node.FirstCluster, Math.Clamp((long)fs._fat.MaxCluster - node.FirstCluster + 1, 0, needed));
            return fs._fat.Chain(node.FirstCluster, needed, -1, $"file at directory entry {id}", id);
        }

        /// <summary>exFAT folders are always listed (no scan), so the node is known and its stream entry says where it lies.</summary>
        public ClusterRuns FolderClusters(long id, uint firstCluster) => Clusters(id);

        public bool TryScanSubfolders(long id, ClusterRuns clusters, List<(long Id, uint FirstCluster)> subfolders) => false;

        public bool IsFree(uint cluster)
        {
            if (cluster < 2 || cluster > fs._fat.MaxCluster) return false;
            long bit = cluster - 2L;
            long at = bit / 8;
            if (at >= bitmapBytes) return false;
            long blockIndex = at / BitmapBlock;
            if (!_bitmapBlocks.TryGetValue(blockIndex, out var block))
            {
                long start = blockIndex * BitmapBlock;
                block = new byte[(int)Math.Min(BitmapBlock, bitmapBytes - start)];
                try
                {
                    fs._heap.Read(bitmap, bitmapBytes, bitmapBytes, start, block, 0);
                }
                catch (CorruptDataException)
                {
                    return false;
                }
                _bitmapBlocks[blockIndex] = block;
            }
            return (block[at - blockIndex * BitmapBlock] & (1 << (int)(bit % 8))) == 0;
        }
    }
}
