using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>
/// The fast path of `changed` for XFS: the bytes that differ between two points, mapped to inodes (through the inode
/// chunks the inode btrees place) and to the folders that hold their names.
///
/// Why it finds every change (each point being a consistent volume, where a block has one owner or is shared only by
/// reflinked files, whose shared blocks are never rewritten in place): the reader reads the superblock, inodes, the
/// blocks an inode owns (BMBT blocks, data, directory data/leaf/node blocks, remote symlink blocks) and checks the
/// log's state. A folder lists differently, or holds an entry that reads differently, only when its inode or blocks,
/// or a child's inode or blocks, differ. Inodes whose cores differ are found from the chunks of both points' inode
/// btrees (slots in a sparse chunk's holes are someone else's blocks); XFS keeps no parent pointers by default, so the
/// folders holding their names are found by walking the tree of names (no file's inode is read where entries carry
/// their type, and a folder whose inode and blocks are the same in both points is read once). Every other differing
/// byte must then be explained: a block owned by a differing inode (in either point) or by a folder that differs, or
/// a byte no file owns in either point (AG headers, the AG btrees' blocks and free list, free extents, the log). What
/// is left is data rewritten in place with its inode left alone (the kernel updates mtime on every write, so this is
/// rare): every in-use inode of both points is then asked whether it owns such a byte (bounded), and the owners are
/// compared too; only when that is too big does the volume fall back to a walk of both trees, and say why.
/// </summary>
public sealed partial class XfsFileSystem : IChangeLocator
{
    /// <summary>More differing inodes than this (and than a quarter of all) means the metadata moved wholesale.</summary>
    private const long WholesaleInodes = 50_000;

    /// <summary>A walk of more folders than this is a looping directory structure, not a tree.</summary>
    private const int MaxLocatedFolders = 50_000_000;

    /// <summary>In-use inodes of both points asked for their blocks at most, when bytes are left that no differing inode explains.</summary>
    private const long MaxScannedInodes = 4_000_000;

    public ChangeLocation Locate(IFileSystem older, VolumeRangeSet differing)
    {
        if (older is not XfsFileSystem old) return ChangeLocation.Fallback("the older point's volume is not XFS");
        var sa = _vol.Sb;
        var sb = old._vol.Sb;
        if (sa.BlockSize != sb.BlockSize || sa.SectorSize != sb.SectorSize || sa.AgBlocks != sb.AgBlocks || sa.AgCount != sb.AgCount
            || sa.DataBlocks != sb.DataBlocks || sa.InodeSize != sb.InodeSize || sa.DirBlockLog != sb.DirBlockLog || sa.Version != sb.Version
            || sa.Features2 != sb.Features2 || sa.RoCompat != sb.RoCompat || sa.Incompat != sb.Incompat || sa.RootInode != sb.RootInode
            || sa.LogStart != sb.LogStart || sa.LogBlocks != sb.LogBlocks || sa.MetadataUuid != sb.MetadataUuid)
            return ChangeLocation.Fallback("the superblock's geometry or features differ between the points");
        if (sa.Has(XfsSuperblock.IncompatMetadir)) return ChangeLocation.Fallback("metadata-directory volumes are not mapped yet");
        var root = new HashSet<long> { RootId };
        if (differing.IsEmpty) return ChangeLocation.Folders(root, new HashSet<long>(root), new HashSet<long>(), new HashSet<long>());
        XfsAgMaps newMaps, oldMaps;
        try
        {
            newMaps = XfsAgMaps.Read(_vol);
            oldMaps = XfsAgMaps.Read(old._vol);
        }
        catch (Exception e) when (e is CorruptDataException or UnsupportedFeatureException)
        {
            return ChangeLocation.Fallback($"the AG headers or btrees cannot be read ({e.Message})");
        }
        var unexplained = differing.Copy();
        // The superblock's geometry was compared above; its counters are not shown.
        unexplained.Remove(0, sa.SectorSize);
        long limit = Math.Max(WholesaleInodes, (long)(newMaps.Chunks.Count + oldMaps.Chunks.Count) * XfsInodeChunk.Inodes / 8);
        var candidates = new HashSet<ulong>();
        var inUse = new[] { InUseSlots(newMaps), InUseSlots(oldMaps) };
        int isize = sa.InodeSize;
        foreach (var chunk in newMaps.Chunks.Concat(oldMaps.Chunks))
        {
            long bytes = (long)XfsInodeChunk.Inodes * isize;
            foreach (var (at, n) in differing.Within(chunk.Offset, bytes))
                for (long slot = (at - chunk.Offset) / isize; slot <= (at + n - 1 - chunk.Offset) / isize; slot++)
                    if (!chunk.IsHole((int)slot) && candidates.Add(chunk.FirstInode + (ulong)slot) && candidates.Count > limit)
                        return ChangeLocation.Fallback($"metadata moved wholesale: more than {limit:N0} inodes differ between the points");
            if (chunk.HoleMask == 0) unexplained.Remove(chunk.Offset, bytes);
            else
                for (int slot = 0; slot < XfsInodeChunk.Inodes; slot += XfsInodeChunk.InodesPerHoleBit)
                    if (!chunk.IsHole(slot)) unexplained.Remove(chunk.Offset + (long)slot * isize, (long)XfsInodeChunk.InodesPerHoleBit * isize);
        }
        var fss = new[] { this, old };
        for (int p = 0; p < 2; p++)
            foreach (ulong i in candidates)
                if (inUse[p].Contains(i)) fss[p].ExplainOwned(i, unexplained);
        RemoveNotFileOwnedInBoth(newMaps.NotFileOwned, oldMaps.NotFileOwned, unexplained);
        var located = WalkNames(old, candidates, differing, unexplained, out string? problem);
        if (located is null) return ChangeLocation.Fallback(problem!);
        if (!unexplained.IsEmpty)
        {
            // Data rewritten in place with the inode left alone: find the owners among every in-use inode.
            long scanned = inUse[0].Count + (long)inUse[1].Count;
            if (scanned > MaxScannedInodes) return Unexplained(unexplained, $"and more than {MaxScannedInodes:N0} in-use inodes to ask which owns them");
            var owners = new HashSet<ulong>();
            for (int p = 0; p < 2; p++)
                foreach (ulong i in inUse[p])
                    if (!candidates.Contains(i) && fss[p].Owns(i, unexplained)) owners.Add(i);
            if (owners.Count == 0) return Unexplained(unexplained, "and no in-use inode owns them");
            candidates.UnionWith(owners);
            for (int p = 0; p < 2; p++)
                foreach (ulong i in owners)
                    if (inUse[p].Contains(i)) fss[p].ExplainOwned(i, unexplained);
            located = WalkNames(old, candidates, differing, unexplained, out problem);
            if (located is null) return ChangeLocation.Fallback(problem!);
            if (!unexplained.IsEmpty) return Unexplained(unexplained, "and no in-use inode owns them");
        }
        return located;
    }

    private static ChangeLocation Unexplained(VolumeRangeSet unexplained, string why)
    {
        var (first, _) = unexplained.Ranges.First();
        return ChangeLocation.Fallback($"{unexplained.TotalBytes:N0} bytes differ (the first at volume offset {first}) that no differing inode " +
            $"explains, {why}");
    }

    /// <summary>The inodes the inode btrees call allocated (in a chunk, not in a sparse hole, not free).</summary>
    private static HashSet<ulong> InUseSlots(XfsAgMaps maps)
    {
        var set = new HashSet<ulong>();
        foreach (var c in maps.Chunks)
            for (int slot = 0; slot < XfsInodeChunk.Inodes; slot++)
                if (!c.IsHole(slot) && !c.IsFree(slot)) set.Add(c.FirstInode + (ulong)slot);
        return set;
    }

    /// <summary>Takes out the bytes neither point's files own (AG metadata, free space, the log in both).</summary>
    private static void RemoveNotFileOwnedInBoth(VolumeRangeSet a, VolumeRangeSet b, VolumeRangeSet unexplained)
    {
        foreach (var (offset, length) in unexplained.Ranges.ToList())
            foreach (var (at, n) in a.Within(offset, length).ToList())
                foreach (var (at2, n2) in b.Within(at, n).ToList())
                    unexplained.Remove(at2, n2);
    }

    /// <summary>Takes the blocks inode <paramref name="number"/> owns out of <paramref name="unexplained"/>: its owner is compared.</summary>
    private void ExplainOwned(ulong number, VolumeRangeSet unexplained)
    {
        foreach (var (at, n) in OwnedRanges(number)) unexplained.Remove(at, n);
    }

    private bool Owns(ulong number, VolumeRangeSet unexplained) => OwnedRanges(number).Any(r => unexplained.Overlaps(r.Offset, r.Length));

    /// <summary>
    /// The volume bytes an inode owns: its data fork's BMBT blocks and extents (unwritten ones too), its attribute
    /// fork's. A free inode, or one that cannot be read, owns nothing (its bytes stay unexplained if they differ).
    /// </summary>
    private List<(long Offset, long Length)> OwnedRanges(ulong number)
    {
        var blocks = new List<(long Linear, long Count)>();
        try
        {
            var inode = _vol.ReadInode(number);
            long end = 0;
            if (inode.Format == XfsInode.FormatExtents)
                XfsExtentList.AddRecords(_vol, inode, inode.DataFork, (int)inode.DataExtents, inode.DataForkByteOffset, new(), ref end, blocks);
            else if (inode.Format == XfsInode.FormatBtree)
                XfsBmbt.Walk(_vol, inode, inode.DataFork, inode.DataForkByteOffset, inode.DataExtents, "extent btree", new(), ref end, blocks);
            end = 0;
            long attrAt = inode.Offset + inode.AttrForkOffset;
            if (inode.AttrFork.Length > 0 && inode.AttrFormat == XfsInode.FormatExtents)
                XfsExtentList.AddRecords(_vol, inode, inode.AttrFork, (int)inode.AttrExtents, attrAt, new(), ref end, blocks);
            else if (inode.AttrFork.Length > 0 && inode.AttrFormat == XfsInode.FormatBtree)
                XfsBmbt.Walk(_vol, inode, inode.AttrFork, attrAt, inode.AttrExtents, "attribute extent btree", new(), ref end, blocks);
        }
        catch (Exception e) when (e is CorruptDataException or UnsupportedFeatureException)
        {
            // what was decoded before the damage is still owned; the rest stays unexplained
        }
        int log = _vol.Sb.BlockLog;
        return blocks.Select(b => (b.Linear << log, b.Count << log)).ToList();
    }

    /// <summary>
    /// The names of a folder pair's entries that may differ (see <see cref="ChangeLocation.NamesOfInterest"/>), from
    /// the two parsed listings (no entry's inode read). Null on an ASCII-CI volume, where a lookup may answer another
    /// spelling than the listing shows.
    /// </summary>
    private List<EntryOfInterest>? NamesOfInterest(XfsFileSystem old, long n, long o, HashSet<ulong> candidates, HashSet<long> newFolders,
        HashSet<long> oldFolders, bool sameListing)
    {
        if (_vol.Sb.AsciiCaseInsensitive) return null;
        var names = new List<EntryOfInterest>();
        var newEntries = Directory(Inode(n)).Entries;
        if (sameListing)
        {
            foreach (var e in newEntries)
                if (candidates.Contains(e.Inode) || newFolders.Contains((long)e.Inode)) names.Add(new EntryOfInterest(e.Name, true, true));
            return names;
        }
        var oldEntries = old.Directory(old.Inode(o)).Entries;
        var oldByName = new Dictionary<string, ulong>(oldEntries.Length, StringComparer.Ordinal);
        foreach (var e in oldEntries) oldByName.TryAdd(e.Name, e.Inode);
        var newNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in newEntries)
        {
            newNames.Add(e.Name);
            bool inOld = oldByName.TryGetValue(e.Name, out ulong before);
            if (!inOld || before != e.Inode || candidates.Contains(e.Inode) || newFolders.Contains((long)e.Inode) || oldFolders.Contains((long)e.Inode))
                names.Add(new EntryOfInterest(e.Name, true, inOld));
        }
        foreach (var e in oldEntries)
            if (!newNames.Contains(e.Name)) names.Add(new EntryOfInterest(e.Name, false, true));
        return names;
    }

    /// <summary>
    /// Walks both points' trees of names side by side (an explicit stack). A folder that is the same inode in both
    /// points, with the same core and blocks, lists the same and is read once; it must be visited only when one of its
    /// entries names a differing inode. Any other folder pair differs: it is visited, and its blocks in both points
    /// are explained. The sets hold each visited folder and its ancestors.
    /// </summary>
    private ChangeLocation? WalkNames(XfsFileSystem old, HashSet<ulong> candidates, VolumeRangeSet differing, VolumeRangeSet unexplained,
        out string? problem)
    {
        problem = null;
        ulong rootIno = _vol.Sb.RootInode;
        var newFolders = new HashSet<long>();
        var oldFolders = new HashSet<long>();
        var nodes = new List<(ulong New, ulong Old, int Parent, bool Marked)> { (rootIno, rootIno, -1, false) };
        var visited = new HashSet<(ulong, ulong)> { (rootIno, rootIno) };
        var pending = new Stack<int>();
        pending.Push(0);
        var sameListing = new HashSet<long>();
        long bs = _vol.BlockSize;
        while (pending.Count > 0)
        {
            if (nodes.Count > MaxLocatedFolders)
            {
                problem = $"more than {MaxLocatedFolders} folders: the directory structure loops";
                return null;
            }
            int index = pending.Pop();
            var (n, o, _, _) = nodes[index];
            bool dirty;
            try
            {
                var newInode = _vol.ReadInode(n);
                // The same core and data blocks: the same listing (a BMBT block that differs is left unexplained
                // here, and then its owner is found among all inodes).
                if (n == o && !candidates.Contains(n) && newInode.IsDirectory
                    && (newInode.Format == XfsInode.FormatLocal || !GetMap(newInode).PhysicalRuns().Any(r => differing.Overlaps(r.Physical * bs, r.Count * bs))))
                {
                    dirty = false;
                    sameListing.Add((long)n);
                    foreach (var e in Directory(newInode).Entries)
                    {
                        if (candidates.Contains(e.Inode)) dirty = true;
                        if (IsDirectory(e) && visited.Add((e.Inode, e.Inode))) Push(e.Inode, e.Inode);
                    }
                }
                else
                {
                    var newDir = Directory(newInode);
                    dirty = true;
                    ExplainOwned(n, unexplained);
                    old.ExplainOwned(o, unexplained);
                    var oldByName = new Dictionary<string, XfsDirEntry>(StringComparer.Ordinal);
                    foreach (var e in old.Directory(old._vol.ReadInode(o)).Entries) oldByName.TryAdd(e.Name, e);
                    foreach (var e in newDir.Entries)
                        if (oldByName.TryGetValue(e.Name, out var oe) && IsDirectory(e) && old.IsDirectory(oe) && visited.Add((e.Inode, oe.Inode)))
                            Push(e.Inode, oe.Inode);
                }
            }
            catch (Exception e) when (e is CorruptDataException or FileReadException or UnsupportedFeatureException)
            {
                // The full walk meets the same damage: let it, where it is reported as it always is.
                problem = $"folder inode {n} cannot be read ({e.Message})";
                return null;
            }
            if (!dirty) continue;
            for (int j = index; j >= 0 && !nodes[j].Marked; j = nodes[j].Parent)
            {
                nodes[j] = nodes[j] with { Marked = true };
                newFolders.Add((long)nodes[j].New);
                oldFolders.Add((long)nodes[j].Old);
            }

            void Push(ulong childNew, ulong childOld)
            {
                nodes.Add((childNew, childOld, index, false));
                pending.Push(nodes.Count - 1);
            }
        }
        newFolders.Add(RootId);
        oldFolders.Add(RootId);
        var changed = candidates.Select(i => (long)i).ToHashSet();
        return ChangeLocation.Folders(newFolders, oldFolders, changed, changed,
            (n, o) => NamesOfInterest(old, n, o, candidates, newFolders, oldFolders, sameListing.Contains(n) && n == o));
    }

    /// <summary>Whether an entry names a folder: its ftype byte where the volume keeps one, else its inode.</summary>
    private bool IsDirectory(XfsDirEntry e)
    {
        if (_vol.Sb.HasFtype && e.FileType != 0) return e.FileType == XfsDirEntry.TypeDirectory;
        try
        {
            return _vol.ReadInode(e.Inode).IsDirectory;
        }
        catch (CorruptDataException)
        {
            return false;
        }
    }
}
