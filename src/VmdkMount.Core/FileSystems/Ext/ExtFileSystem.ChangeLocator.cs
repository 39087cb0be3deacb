using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// The fast path of `changed` for ext2/3/4: the bytes that differ between two points, mapped to inodes (through the
/// inode tables) and to the folders that hold their names.
///
/// Why it finds every change (each point being a consistent volume, where a block has at most one owner): the reader
/// reads the superblock, the group descriptors (for the inode tables' places), inode records, and the blocks an inode
/// owns (its map's index and leaf blocks, its data, its extended-attribute block). A folder lists differently, or holds
/// an entry that reads differently, only when its inode or blocks, or a child's inode or blocks, differ. Inodes whose
/// record bytes differ are found from the inode tables; an inode has no parent pointer, so the folders holding their
/// names are found by walking the directory tree of names (no file's inode is read, and a folder whose inode and blocks
/// are the same in both points is read once). Every other differing byte must then be explained: a block owned by a
/// differing inode or by a folder that differs, a bitmap or descriptor, the journal, or a block free in both points'
/// bitmaps. A byte nothing explains is data rewritten in place with the inode left alone (the kernel updates mtime on
/// every write, so this is rare): the volume is then walked whole, and says why.
/// </summary>
public sealed partial class ExtFileSystem : IChangeLocator
{
    /// <summary>More differing inodes than this (and than a quarter of all) means the metadata moved wholesale.</summary>
    private const long WholesaleInodes = 50_000;

    private const long JournalInode = 8;

    /// <summary>A walk of more folders than this is a looping directory structure, not a tree.</summary>
    private const int MaxLocatedFolders = 50_000_000;

    public ChangeLocation Locate(IFileSystem older, VolumeRangeSet differing)
    {
        if (older is not ExtFileSystem old) return ChangeLocation.Fallback("the older point's volume is not ext");
        var sa = _vol.Sb;
        var sb = old._vol.Sb;
        if (sa.BlockSize != sb.BlockSize || sa.InodeSize != sb.InodeSize || sa.InodesPerGroup != sb.InodesPerGroup || sa.InodesCount != sb.InodesCount
            || sa.BlocksCount != sb.BlocksCount || sa.BlocksPerGroup != sb.BlocksPerGroup || sa.FirstDataBlock != sb.FirstDataBlock
            || sa.DescriptorSize != sb.DescriptorSize || sa.ReservedGdtBlocks != sb.ReservedGdtBlocks || sa.Incompat != sb.Incompat || sa.RoCompat != sb.RoCompat || sa.FirstMetaBg != sb.FirstMetaBg)
            return ChangeLocation.Fallback("the superblock's geometry or features differ between the points");
        if (sa.HasRo(ExtSuperblock.RoCompatBigalloc)) return ChangeLocation.Fallback("bigalloc volumes are not mapped yet");
        var root = new HashSet<long> { RootInode };
        if (differing.IsEmpty) return ChangeLocation.Folders(root, new HashSet<long>(root), new HashSet<long>(), new HashSet<long>());
        long bs = sa.BlockSize;
        var unexplained = differing.Copy();
        // The boot area and the superblock: its geometry was compared above; counts and times are not shown.
        unexplained.Remove(0, Math.Max(ExtSuperblock.VolumeOffset + ExtSuperblock.Size, (sa.FirstDataBlock + 1) * bs));
        var candidates = new HashSet<uint>();
        long limit = Math.Max(WholesaleInodes, sa.InodesCount / 4);
        long tableBytes = (long)sa.InodesPerGroup * sa.InodeSize;
        var layouts = new ExtGroupLayout[2];
        // Every group's bitmaps and inode table, in both points: blocks of a group whose bitmap was never written are
        // free unless they are one of these (or the group's superblock backup).
        var groupMetadata = new VolumeRangeSet();
        for (uint g = 0; g < sa.GroupCount; g++)
        {
            try
            {
                layouts[0] = _vol.GroupLayout(g);
                layouts[1] = old._vol.GroupLayout(g);
            }
            catch (CorruptDataException e)
            {
                return ChangeLocation.Fallback($"group descriptor {g} cannot be read ({e.Problem})");
            }
            if (layouts[0].InodeTable != layouts[1].InodeTable)
                return ChangeLocation.Fallback($"metadata moved wholesale: the inode table of group {g} is elsewhere in each point");
            unexplained.Remove(layouts[0].DescriptorOffset, sa.DescriptorSize);
            long table = _vol.BlockOffset(layouts[0].InodeTable);
            foreach (var (at, n) in differing.Within(table, tableBytes))
            {
                long first = (at - table) / sa.InodeSize, last = (at + n - 1 - table) / sa.InodeSize;
                for (long i = first; i <= last; i++)
                    if (candidates.Add((uint)(g * (long)sa.InodesPerGroup + i + 1)) && candidates.Count > limit)
                        return ChangeLocation.Fallback($"metadata moved wholesale: more than {limit:N0} inodes differ between the points");
            }
            unexplained.Remove(table, tableBytes);
            groupMetadata.Add(table, tableBytes);
            foreach (var l in layouts)
            {
                unexplained.Remove(_vol.BlockOffset(l.BlockBitmap), bs);
                unexplained.Remove(_vol.BlockOffset(l.InodeBitmap), bs);
                groupMetadata.Add(_vol.BlockOffset(l.BlockBitmap), bs);
                groupMetadata.Add(_vol.BlockOffset(l.InodeBitmap), bs);
            }
        }
        foreach (var fs in (ExtFileSystem[])[this, old])
            foreach (uint i in candidates)
                fs.ExplainOwned(i, unexplained, inUseOnly: true);
        var located = WalkNames(old, candidates, differing, unexplained, out string? problem);
        if (located is null) return ChangeLocation.Fallback(problem!);
        // Each step below only takes ranges out, whatever is left, so their order does not change the answer: the
        // cheap ones first, and the rest only while something is left (the resize inode's map alone is a block read
        // per reserved descriptor block, in each point). Reserved inodes (the journal, the resize inode's reserved
        // descriptor blocks): no name reaches them.
        foreach (var fs in (ExtFileSystem[])[this, old])
            if (!unexplained.IsEmpty) fs.ExplainOwned((uint)JournalInode, unexplained, inUseOnly: true);
        RemoveFreeInBoth(this, old, unexplained, groupMetadata);
        for (uint i = 1; i < Math.Max(sa.FirstInode, (uint)JournalInode + 1) && !unexplained.IsEmpty; i++)
            if (i is not (uint)RootInode and not (uint)JournalInode)
                foreach (var fs in (ExtFileSystem[])[this, old])
                    fs.ExplainOwned(i, unexplained, inUseOnly: true);
        if (!unexplained.IsEmpty)
        {
            var (first, _) = unexplained.Ranges.First();
            return ChangeLocation.Fallback($"{unexplained.TotalBytes:N0} bytes differ (the first at volume offset {first}) that no differing inode " +
                "explains: data rewritten in place without an inode update");
        }
        return located;
    }

    /// <summary>
    /// Takes the blocks inode <paramref name="number"/> owns (map blocks, data, extended-attribute block) out of
    /// <paramref name="unexplained"/>: its owner is compared. A free inode owns nothing (its stale map says nothing).
    /// </summary>
    private void ExplainOwned(uint number, VolumeRangeSet unexplained, bool inUseOnly)
    {
        ExtInode inode;
        try
        {
            inode = _vol.ReadInode(number);
        }
        catch (CorruptDataException)
        {
            return; // its bytes stay unexplained if they differ
        }
        if (inUseOnly && (inode.Links == 0 || inode.Mode == 0)) return;
        foreach (var (at, n) in OwnedRanges(inode)) unexplained.Remove(at, n);
    }

    private List<(long Offset, long Length)> OwnedRanges(ExtInode inode)
    {
        var ranges = new List<(long, long)>();
        long bs = _vol.BlockSize;
        if (inode.FileAcl != 0) ranges.Add((_vol.BlockOffset(inode.FileAcl), bs));
        if (inode.Has(ExtInode.FlagInlineData)) return ranges;
        if (inode.Type is not (ExtInode.TypeFile or ExtInode.TypeDir or ExtInode.TypeSymlink)) return ranges;
        // A fast symlink keeps its target in i_block, where a map would be read as block numbers.
        if (inode.Type == ExtInode.TypeSymlink && inode.Size < ExtInode.BlockLength && inode.AllocatedBytes == 0) return ranges;
        var mapBlocks = new List<ulong>();
        ExtDataMap map;
        try
        {
            map = inode.Has(ExtInode.FlagExtents) ? ExtExtentTree.Build(_vol, inode, mapBlocks) : ExtBlockMap.Build(_vol, inode, mapBlocks);
        }
        catch (Exception e) when (e is CorruptDataException or UnsupportedFeatureException)
        {
            return ranges; // a map that cannot be read explains nothing
        }
        foreach (ulong b in mapBlocks) ranges.Add((_vol.BlockOffset(b), bs));
        foreach (var (physical, count) in map.PhysicalRuns()) ranges.Add((physical * bs, count * bs));
        return ranges;
    }

    /// <summary>
    /// The names of a folder pair's entries that may differ (see <see cref="ChangeLocation.NamesOfInterest"/>), from
    /// the two parsed listings (names only, no entry's inode read). Null for a casefold folder, where a lookup may
    /// answer another spelling than the listing shows.
    /// </summary>
    private List<EntryOfInterest>? NamesOfInterest(ExtFileSystem old, long n, long o, HashSet<uint> candidates, HashSet<long> newFolders,
        HashSet<long> oldFolders, bool sameListing)
    {
        var newInode = Inode(n);
        if (newInode.Has(ExtInode.FlagCasefold)) return null;
        var names = new List<EntryOfInterest>();
        var newDir = Directory(newInode);
        if (sameListing)
        {
            foreach (var e in newDir.Entries)
                if (candidates.Contains(e.Inode) || newFolders.Contains(e.Inode)) names.Add(new EntryOfInterest(e.Name, true, true));
            return names;
        }
        var oldInode = old.Inode(o);
        if (oldInode.Has(ExtInode.FlagCasefold)) return null;
        // The parsed listings' own name indexes (each name once, to the entry the name shows).
        var oldDir = old.Directory(oldInode);
        foreach (var e in newDir.Entries)
        {
            bool inOld = oldDir.ByName.TryGetValue(e.Name, out int at);
            if (!inOld || oldDir.Entries[at].Inode != e.Inode || candidates.Contains(e.Inode) || newFolders.Contains(e.Inode) || oldFolders.Contains(e.Inode))
                names.Add(new EntryOfInterest(e.Name, true, inOld));
        }
        foreach (var e in oldDir.Entries)
            if (!newDir.ByName.ContainsKey(e.Name)) names.Add(new EntryOfInterest(e.Name, false, true));
        return names;
    }

    /// <summary>Whether any of an inode's data blocks (from its cached map) holds a differing byte.</summary>
    private bool DataDiffers(ExtInode inode, VolumeRangeSet differing)
    {
        if (inode.Has(ExtInode.FlagInlineData)) return false;
        long bs = _vol.BlockSize;
        foreach (var (physical, count) in GetMap(inode).PhysicalRuns())
            if (differing.Overlaps(physical * bs, count * bs)) return true;
        return false;
    }

    /// <summary>
    /// Walks both points' directory trees of names side by side (an explicit stack; no file's inode is read). A
    /// folder that is the same inode in both points, with the same record and blocks, lists the same and is read once;
    /// it must be visited only when one of its entries names a differing inode. Any other folder pair differs: it is
    /// visited, and its blocks in both points are explained. The sets hold each visited folder and its ancestors.
    /// </summary>
    private ChangeLocation? WalkNames(ExtFileSystem old, HashSet<uint> candidates, VolumeRangeSet differing, VolumeRangeSet unexplained,
        out string? problem)
    {
        problem = null;
        var newFolders = new HashSet<long>();
        var oldFolders = new HashSet<long>();
        var nodes = new List<(uint New, uint Old, int Parent, bool Marked)> { ((uint)RootInode, (uint)RootInode, -1, false) };
        var visited = new HashSet<(uint, uint)> { ((uint)RootInode, (uint)RootInode) };
        var pending = new Stack<int>();
        pending.Push(0);
        var entries = new List<(uint Inode, byte FileType)>();
        var sameListing = new HashSet<long>();
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
                // Most folders are read once here and never again: their inode table blocks are not cached.
                var newInode = _vol.ReadInode(n, cacheTableBlock: false);
                // The same inode record and data blocks: the same listing (a map block that differs is left
                // unexplained here, and then the whole volume falls back).
                if (n == o && !candidates.Contains(n) && newInode.IsDirectory && !newInode.Has(ExtInode.FlagEncrypt)
                    && !DataDiffers(newInode, differing))
                {
                    dirty = false;
                    sameListing.Add(n);
                    entries.Clear();
                    if (!ExtDirectoryReader.TryScanInodes(_vol, newInode, GetMap(newInode), entries))
                    {
                        entries.Clear();
                        foreach (var e in Directory(newInode).Entries) entries.Add((e.Inode, e.FileType));
                    }
                    foreach (var (child, fileType) in entries)
                    {
                        if (candidates.Contains(child)) dirty = true;
                        if (IsDirectory(child, fileType) && visited.Add((child, child))) Push(child, child);
                    }
                }
                else
                {
                    var newDir = Directory(newInode);
                    dirty = true;
                    foreach (var (at, len) in OwnedRanges(_vol.ReadInode(n))) unexplained.Remove(at, len);
                    var oldInode = old._vol.ReadInode(o);
                    foreach (var (at, len) in old.OwnedRanges(oldInode)) unexplained.Remove(at, len);
                    var oldDir = old.Directory(oldInode);
                    foreach (var e in newDir.Entries)
                        if (oldDir.ByName.TryGetValue(e.Name, out int at) && IsDirectory(e.Inode, e.FileType)
                            && old.IsDirectory(oldDir.Entries[at].Inode, oldDir.Entries[at].FileType) && visited.Add((e.Inode, oldDir.Entries[at].Inode)))
                            Push(e.Inode, oldDir.Entries[at].Inode);
                }
            }
            catch (Exception e) when (e is CorruptDataException or FileReadException)
            {
                // The full walk meets the same damage: let it, where it is reported as it always is.
                problem = $"folder inode {n} cannot be read ({e.Message})";
                return null;
            }
            if (!dirty) continue;
            for (int j = index; j >= 0 && !nodes[j].Marked; j = nodes[j].Parent)
            {
                nodes[j] = nodes[j] with { Marked = true };
                newFolders.Add(nodes[j].New);
                oldFolders.Add(nodes[j].Old);
            }

            void Push(uint childNew, uint childOld)
            {
                nodes.Add((childNew, childOld, index, false));
                pending.Push(nodes.Count - 1);
            }
        }
        newFolders.Add(RootInode);
        oldFolders.Add(RootInode);
        var changed = candidates.Select(i => (long)i).ToHashSet();
        return ChangeLocation.Folders(newFolders, oldFolders, changed, changed,
            (n, o) => NamesOfInterest(old, n, o, candidates, newFolders, oldFolders, sameListing.Contains(n) && n == o));
    }

    /// <summary>Whether an entry names a folder: its file type byte where the volume keeps one, else its inode.</summary>
    private bool IsDirectory(uint inode, byte fileType)
    {
        const byte fileTypeDirectory = 2;
        if (_vol.Sb.Has(ExtSuperblock.IncompatFiletype) && fileType != 0) return fileType == fileTypeDirectory;
        try
        {
            return _vol.ReadInode(inode).IsDirectory;
        }
        catch (CorruptDataException)
        {
            return false;
        }
    }

    /// <summary>Takes out the blocks both points' block bitmaps call free: no file reads them in either point.</summary>
    private static void RemoveFreeInBoth(ExtFileSystem a, ExtFileSystem b, VolumeRangeSet unexplained, VolumeRangeSet groupMetadata)
    {
        if (unexplained.IsEmpty) return;
        var sb = a._vol.Sb;
        long bs = sb.BlockSize;
        long descriptorBlocks = ((long)sb.GroupCount * sb.DescriptorSize + bs - 1) / bs;
        foreach (var (offset, length) in unexplained.Ranges.ToList())
            for (long block = offset / bs; block <= (offset + length - 1) / bs; block++)
            {
                if (block < sb.FirstDataBlock || (ulong)block >= sb.BlocksCount) continue;
                uint group = (uint)((block - sb.FirstDataBlock) / sb.BlocksPerGroup);
                long bit = (block - sb.FirstDataBlock) % sb.BlocksPerGroup;
                if (!IsFree(a, group, block, bit) || !IsFree(b, group, block, bit)) continue;
                unexplained.Remove(block * bs, bs);
            }

        bool IsFree(ExtFileSystem fs, uint group, long block, long bit)
        {
            try
            {
                var layout = fs._vol.GroupLayout(group);
                // A bitmap never written (BLOCK_UNINIT): the kernel allocated nothing in the group, so every block is
                // free but the group metadata: any group's bitmaps and inode table placed here, and the superblock
                // backup with its descriptor copy and reserved descriptor blocks at the group's start.
                if ((layout.Flags & ExtGroupDescriptor.FlagBlockUninit) != 0)
                {
                    long start = sb.FirstDataBlock + (long)group * sb.BlocksPerGroup;
                    if (sb.GroupHasSuperblock(group) && block < start + 1 + descriptorBlocks + sb.ReservedGdtBlocks) return false;
                    return !groupMetadata.Overlaps(block * bs, bs);
                }
                var bitmap = fs._vol.ReadBlock(layout.BlockBitmap, $"block bitmap of group {group}", layout.DescriptorOffset);
                return (bitmap[bit / 8] & (1 << (int)(bit % 8))) == 0;
            }
            catch (CorruptDataException)
            {
                return false;
            }
        }
    }
}
