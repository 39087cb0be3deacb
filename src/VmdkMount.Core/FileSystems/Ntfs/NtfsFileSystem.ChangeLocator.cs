using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// The fast path of `changed` for NTFS: the bytes that differ between two points, mapped to MFT records and to the
/// folders those records' names live in.
///
/// Why it finds every change (each point being a consistent volume, where a cluster has at most one owner): a folder
/// lists differently, or holds an entry that reads differently, only when its record, its $I30 blocks, a child's
/// record or a child's data bytes differ. Records that differ are found from the $MFT's runs (in both points' maps,
/// and wherever the two maps place a record differently); their names' parent folders are visited. Every other
/// differing byte must then be explained: it belongs to a run of a record that differs (its owner is compared), to the
/// $I30 blocks of a visited folder, to a metafile, or to clusters free in both points' $Bitmap (nobody reads them).
/// A byte nothing explains is data rewritten in place by a writer that left the record alone (ntfs-3g and Windows
/// update $STANDARD_INFORMATION on every write, so this is rare): the volume is then walked whole, and says why.
/// </summary>
public sealed partial class NtfsFileSystem : IChangeLocator
{
    /// <summary>
    /// More differing records than this (and than a quarter of the $MFT) means the metadata moved wholesale (a
    /// defragmenter, a restore of the whole volume): reading them all costs what walking both trees does.
    /// </summary>
    private const long WholesaleRecords = 50_000;

    private const long BitmapRecord = 6;

    public ChangeLocation Locate(IFileSystem older, VolumeRangeSet differing)
    {
        if (older is not NtfsFileSystem old) return ChangeLocation.Fallback("the older point's volume is not NTFS");
        if (Boot.ClusterSize != old.Boot.ClusterSize || Boot.MftRecordSize != old.Boot.MftRecordSize || Boot.ClusterCount != old.Boot.ClusterCount)
            return ChangeLocation.Fallback("the boot sector's geometry (cluster size, record size, clusters) differs between the points");
        if (differing.IsEmpty) return ChangeLocation.Folders(new HashSet<long> { RootRecord }, new HashSet<long> { RootRecord }, new HashSet<long>(), new HashSet<long>());
        long limit = Math.Max(WholesaleRecords, Math.Max(_recordCount, old._recordCount) / 4);
        var records = new HashSet<long>();
        // Metafiles are always read (16 records): their runs explain the $LogFile, $Bitmap, $MFTMirr writes of every change.
        for (long r = 0; r < FirstUserRecord; r++) records.Add(r);
        if (!AddDifferingRecords(this, differing, records, limit) || !AddDifferingRecords(old, differing, records, limit)
            || !AddMovedRecords(_mft, old._mft, Boot.MftRecordSize, Math.Max(_recordCount, old._recordCount), records, limit))
            return ChangeLocation.Fallback($"metadata moved wholesale: more than {limit:N0} MFT records differ between the points");
        foreach (var fs in (NtfsFileSystem[])[this, old])
            if (fs.UpCaseRuns().Any(r => differing.Overlaps(r.Offset, r.Length)))
                return ChangeLocation.Fallback("$UpCase differs between the points");
        var unexplained = differing.Copy();
        foreach (var fs in (NtfsFileSystem[])[this, old])
            foreach (var (_, at, n) in fs._mft.Extents())
                unexplained.Remove(at, n);
        var newerFiles = new HashSet<long>();
        var olderFiles = new HashSet<long>();
        var newerFolders = Folders(this, records, unexplained, newerFiles, out string? problem);
        if (newerFolders is null) return ChangeLocation.Fallback($"in the newer point: {problem}");
        var olderFolders = Folders(old, records, unexplained, olderFiles, out problem);
        if (olderFolders is null) return ChangeLocation.Fallback($"in the older point: {problem}");
        // Past the last whole cluster (the backup boot sector's slack) nothing is read.
        long clustered = Boot.ClusterCount * Boot.ClusterSize;
        unexplained.Remove(clustered, long.MaxValue - clustered);
        RemoveFreeInBoth(this, old, unexplained);
        if (!unexplained.IsEmpty)
        {
            var (first, _) = unexplained.Ranges.First();
            return ChangeLocation.Fallback($"{unexplained.TotalBytes:N0} bytes differ (the first at volume offset {first}) that no differing MFT record " +
                "explains: data rewritten in place without a metadata update");
        }
        return ChangeLocation.Folders(newerFolders, olderFolders, newerFiles, olderFiles,
            (n, o) => NamesOfInterest(old, n, o, newerFiles, olderFiles, newerFolders, olderFolders));
    }

    /// <summary>
    /// The entries of a folder pair that may differ (see <see cref="ChangeLocation.NamesOfInterest"/>), from the two
    /// $I30 indexes (keys only; only these entries' records are loaded, to tell whether the listing shows them).
    /// An entry naming the same record (number and sequence) in both points, a record that does not differ and is no
    /// folder to visit, is left out. Null when a shown name has more than one index entry on a side (which one a
    /// lookup answers is then not the listing's choice) or an index cannot be read: the folder is then listed.
    /// </summary>
    private List<EntryOfInterest>? NamesOfInterest(NtfsFileSystem old, long n, long o, HashSet<long> newerFiles, HashSet<long> olderFiles,
        HashSet<long> newerFolders, HashSet<long> olderFolders)
    {
        try
        {
            var newIndex = IndexByShownName(this, n);
            var oldIndex = IndexByShownName(old, o);
            if (newIndex is null || oldIndex is null) return null;
            var result = new List<EntryOfInterest>();
            foreach (var (name, entries) in newIndex)
            {
                oldIndex.TryGetValue(name, out var oldEntries);
                if (entries.Count > 1 || oldEntries is { Count: > 1 }) return null;
                if (oldEntries is not null && entries[0].FileReference == oldEntries[0].FileReference)
                {
                    long r = NtfsFileReference.Record(entries[0].FileReference);
                    if (!newerFiles.Contains(r) && !olderFiles.Contains(r) && !newerFolders.Contains(r) && !olderFolders.Contains(r)) continue;
                }
                result.Add(new EntryOfInterest(name, Shows(entries[0]), oldEntries is not null && old.Shows(oldEntries[0])));
            }
            foreach (var (name, entries) in oldIndex)
            {
                if (newIndex.ContainsKey(name)) continue;
                if (entries.Count > 1) return null;
                result.Add(new EntryOfInterest(name, false, old.Shows(entries[0])));
            }
            return result;
        }
        catch (Exception e) when (e is CorruptDataException or NotInUseException)
        {
            return null;
        }
    }

    /// <summary>A folder's index entries by the name the listing would show, with the listing's own filters (DOS-only names, dots, self).</summary>
    private static Dictionary<string, List<NtfsIndexEntry>>? IndexByShownName(NtfsFileSystem fs, long id)
    {
        var dir = fs.LoadFile(id);
        if (!dir.HasIndex) return null;
        var byName = new Dictionary<string, List<NtfsIndexEntry>>(StringComparer.Ordinal);
        foreach (var e in fs.WalkIndex(dir))
        {
            var key = e.Key!;
            if (key.IsDosOnly || NtfsFileReference.Record(e.FileReference) == dir.Number || key.Name is "" or "." or "..") continue;
            string shown = Utf16NameEscape.Encode(key.Name);
            if (!byName.TryGetValue(shown, out var list)) byName[shown] = list = new List<NtfsIndexEntry>(1);
            list.Add(e);
        }
        return byName;
    }

    /// <summary>Whether the listing shows this entry: its record is live (number and sequence) and not a hidden metafile.</summary>
    private bool Shows(NtfsIndexEntry e)
    {
        var target = Target(e);
        if (target is null) return false;
        return (NodeOf(target).Attributes & FsAttributes.Metafile) == 0 || _options.ShowSystemFiles;
    }

    /// <summary>Adds the records of <paramref name="fs"/>'s $MFT whose bytes overlap the differing ranges; false past the limit.</summary>
    private static bool AddDifferingRecords(NtfsFileSystem fs, VolumeRangeSet differing, HashSet<long> records, long limit)
    {
        int rs = fs.Boot.MftRecordSize;
        foreach (var (streamAt, volumeAt, length) in fs._mft.Extents())
            foreach (var (at, n) in differing.Within(volumeAt, length))
            {
                long first = (streamAt + at - volumeAt) / rs, last = Math.Min(fs._recordCount - 1, (streamAt + at - volumeAt + n - 1) / rs);
                for (long r = first; r <= last; r++)
                    if (records.Add(r) && records.Count > limit) return false;
            }
        return true;
    }

    /// <summary>
    /// Adds every record the two points' $MFT maps place differently (a grown or moved $MFT): the same record number
    /// reads other bytes in each point even where no byte of either place differs. A sweep over both maps' run edges.
    /// </summary>
    private static bool AddMovedRecords(NtfsDataStream a, NtfsDataStream b, int rs, long records, HashSet<long> set, long limit)
    {
        var ea = a.Extents().ToList();
        var eb = b.Extents().ToList();
        var edges = new SortedSet<long> { 0, records * rs };
        foreach (var (s, _, n) in ea.Concat(eb)) { edges.Add(s); edges.Add(s + n); }
        long? prev = null;
        foreach (long edge in edges)
        {
            if (prev is long p && p < records * rs && Delta(ea, p) != Delta(eb, p))
            {
                long last = Math.Min(records - 1, (Math.Min(edge, records * rs) - 1) / rs);
                for (long r = p / rs; r <= last; r++)
                    if (set.Add(r) && set.Count > limit) return false;
            }
            prev = edge;
        }
        return true;

        // Volume minus stream offset of the run holding `at`, or null where the stream has no run there.
        static long? Delta(List<(long StreamOffset, long VolumeOffset, long Length)> extents, long at)
        {
            int lo = 0, hi = extents.Count - 1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >>> 1;
                var e = extents[mid];
                if (e.StreamOffset + e.Length <= at) lo = mid + 1;
                else if (e.StreamOffset > at) hi = mid - 1;
                else return e.VolumeOffset - e.StreamOffset;
            }
            return null;
        }
    }

    /// <summary>
    /// In one point: the files owning the differing records (an extension record's base: added to <paramref name="files"/>), their runs taken out of
    /// <paramref name="unexplained"/>, and the folders to visit: every folder one of their names lives in, every
    /// differing folder itself, and all their ancestors (whose $I30 blocks are explained too: they are compared).
    /// Null with <paramref name="problem"/> when a differing record cannot be read.
    /// </summary>
    private static HashSet<long>? Folders(NtfsFileSystem fs, HashSet<long> records, VolumeRangeSet unexplained, HashSet<long> files, out string? problem)
    {
        problem = null;
        var buffer = new byte[fs.Boot.MftRecordSize];
        foreach (long r in records)
        {
            if (r >= fs._recordCount) continue;
            long off = r * fs.Boot.MftRecordSize;
            if (fs._mft.Read(off, buffer) != buffer.Length) { problem = $"MFT record {r} is cut short"; return null; }
            if (NtfsMftRecord.IsEmptySlot(buffer)) continue;
            NtfsMftRecord rec;
            try
            {
                rec = NtfsMftRecord.Parse((byte[])buffer.Clone(), r, fs._mft.VolumeOffsetOf(off), fs.Name);
            }
            catch (CorruptDataException e)
            {
                problem = $"MFT record {r} cannot be read ({e.Problem})";
                return null;
            }
            if (rec.InUse) files.Add(rec.BaseReference != 0 ? rec.BaseRecordNumber : r);
        }
        var dirty = new HashSet<long> { RootRecord };
        foreach (long number in files)
        {
            NtfsFile f;
            try
            {
                f = fs.LoadFile(number);
            }
            catch (NotInUseException)
            {
                continue;
            }
            catch (CorruptDataException e)
            {
                problem = $"MFT record {number} cannot be read ({e.Problem})";
                return null;
            }
            foreach (var (at, n) in fs.Runs(f, onlyIndex: false)) unexplained.Remove(at, n);
            foreach (var name in f.Names) dirty.Add(name.ParentRecord);
            if (f.HasIndex) dirty.Add(number);
        }
        // Ancestors: a worklist, each folder once, so a looping parent chain ends; bounded by the $MFT's size.
        var folders = new HashSet<long>();
        var pending = new Stack<long>(dirty);
        while (pending.Count > 0)
        {
            long id = pending.Pop();
            if (id < 0 || id >= fs._recordCount || !folders.Add(id)) continue;
            NtfsFile dir;
            try
            {
                dir = fs.LoadFile(id);
            }
            catch (Exception e) when (e is NotInUseException or CorruptDataException)
            {
                continue; // a stale parent reference: no path reaches it, and the walk never gets there
            }
            foreach (var (at, n) in fs.Runs(dir, onlyIndex: true)) unexplained.Remove(at, n);
            if (id == RootRecord) continue;
            foreach (var name in dir.Names) pending.Push(name.ParentRecord);
        }
        return folders;
    }

    /// <summary>Volume byte ranges of a file's non-resident attributes (only the $I30 ones when <paramref name="onlyIndex"/>).</summary>
    private IEnumerable<(long Offset, long Length)> Runs(NtfsFile f, bool onlyIndex)
    {
        var runs = new List<NtfsRun>();
        foreach (var a in f.Attributes)
        {
            if (!a.NonResident || a.HighestVcn < 0) continue;
            if (onlyIndex && (a.Name != I30 || a.Type is not (NtfsAttributeType.IndexAllocation or NtfsAttributeType.Bitmap))) continue;
            runs.Clear();
            NtfsRunlistDecoder.Decode(a.Runlist.Span, a.LowestVcn, Boot.ClusterCount, runs, f.Where, a.VolumeOffset);
            foreach (var run in runs)
                if (!run.IsSparse) yield return (run.Lcn * Boot.ClusterSize, run.Length * Boot.ClusterSize);
        }
    }

    private IEnumerable<(long Offset, long Length)> UpCaseRuns() => Runs(LoadFile(UpCaseRecord), onlyIndex: false);

    /// <summary>Takes out the clusters both points' $Bitmap call free: no file reads them in either point.</summary>
    private static void RemoveFreeInBoth(NtfsFileSystem a, NtfsFileSystem b, VolumeRangeSet unexplained)
    {
        if (unexplained.IsEmpty) return;
        var bitmapA = a.LoadFile(BitmapRecord).GetStream(a, NtfsAttributeType.Data, "");
        var bitmapB = b.LoadFile(BitmapRecord).GetStream(b, NtfsAttributeType.Data, "");
        long cs = a.Boot.ClusterSize;
        Span<byte> ba = stackalloc byte[1], bb = stackalloc byte[1];
        foreach (var (offset, length) in unexplained.Ranges.ToList())
            for (long c = offset / cs; c <= (offset + length - 1) / cs; c++)
            {
                if (bitmapA.Read(c / 8, ba) != 1 || bitmapB.Read(c / 8, bb) != 1) continue;
                int bit = 1 << (int)(c % 8);
                if ((ba[0] & bit) == 0 && (bb[0] & bit) == 0) unexplained.Remove(c * cs, cs);
            }
    }
}
