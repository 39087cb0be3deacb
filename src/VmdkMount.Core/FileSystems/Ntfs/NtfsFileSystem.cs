using System.Buffers.Binary;
using System.Text;
using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// Read-only NTFS reader. Pipeline: boot sector -> MFT record 0 (fixups, $DATA runlist plus the pieces its
/// $ATTRIBUTE_LIST names) = map of the whole $MFT -> any record -> root directory (record 5) -> $I30 B-trees ->
/// unnamed $DATA (resident, non-resident, sparse, LZNT1) and named $DATA (alternate data streams).
/// Node ids are MFT record numbers. Opening reads the boot sector, record 0, $Volume and the head of $LogFile;
/// everything else is read on first use and cached (bounded). All members are safe to call from many threads.
/// Names, stream names and link-target components are shown with <see cref="Utf16NameEscape"/> (so a stored '/' or
/// NUL is <c>%2F</c> / <c>%00</c>); Lookup accepts exactly the shown names (case-insensitively, as Windows does).
/// Index entries named `.`, `..` or '' (other than the root's own `.`) and a second entry with the same name are
/// left out of List and reported by <see cref="UnshownEntries"/>.
/// </summary>
public sealed partial class NtfsFileSystem : IFileSystem, ISymlinkReader, INamedStreams, IFileAllocationMap, IReportsUnshownEntries
{
    internal const string I30 = "$I30";
    private const long MftRecord = 0;
    private const long LogFileRecord = 2;
    private const long VolumeRecord = 3;
    private const long RootRecord = 5;
    private const long UpCaseRecord = 10;
    /// <summary>Records below this are reserved for metafiles ($MFT .. $Extend and the reserved slots).</summary>
    private const long FirstUserRecord = 16;
    private const int MaxParentDepth = 4096;
    private const int MaxLinkTargetLength = 32 * 1024;
    private const ushort VolumeDirtyFlag = 0x0001;
    private const int VolumeFlagsOffset = 10;
    /// <summary>
    /// Where ReadLink points a link whose target is not on this volume (another drive, UNC, a volume GUID path), or
    /// climbs above the root, or points at itself or one of its ancestors (a loop): a volume-absolute path under
    /// this directory, which a volume does not have (ntfs-3g uses `.NTFS-3G` the same way). Resolving it finds
    /// nothing, and because it is volume-absolute it can never reach outside the mount. The original target follows
    /// for the reader's information, e.g. `/.NTFS-unresolved/D:/data/x.txt`, `/.NTFS-unresolved/UNC/server/share`.
    /// </summary>
    public const string UnresolvedLinkRoot = "/.NTFS-unresolved";

    private readonly FileSystemOptions _options;
    private readonly NtfsDataStream _mft;
    private readonly long _recordCount;
    private readonly BoundedCache<long, NtfsFile> _files;
    private readonly BoundedCache<(long Dir, long Vcn), NtfsIndexNode> _nodes;
    private readonly Lazy<NtfsUpCase> _upcase;
    private readonly List<string> _warnings = new();
    private readonly Func<long, NtfsFile> _parseFile;

    internal IReadAt Volume { get; }
    internal NtfsBootSector Boot { get; }
    internal string Name { get; }

    public string Kind => "ntfs";
    public string? Label { get; private set; }
    public long RootId => RootRecord;
    /// <summary>A snapshot: $UpCase problems are only found (and added) on first lookup, maybe on another thread.</summary>
    public IReadOnlyList<string> Warnings
    {
        get { lock (_warnings) return _warnings.ToArray(); }
    }

    private NtfsFileSystem(IReadAt data, string name, FileSystemOptions options, NtfsBootSector boot, NtfsDataStream mft)
    {
        Volume = data; Name = name; _options = options; Boot = boot; _mft = mft;
        _recordCount = mft.Length / boot.MftRecordSize;
        _upcase = new Lazy<NtfsUpCase>(LoadUpCase, LazyThreadSafetyMode.ExecutionAndPublication);
        _parseFile = ParseFile; // one delegate, not one per cache lookup
        var budget = options.Cache ?? CacheBudget.Shared;
        _files = new(budget);
        _nodes = new(budget);
    }

    public static IFileSystem Open(IReadAt data, string name, FileSystemOptions options)
    {
        var sector = new byte[NtfsBootSector.Size];
        data.ReadExactly(0, sector, $"{name}: NTFS boot sector");
        NtfsBootSector boot;
        var warnings = new List<string>();
        try
        {
            boot = NtfsBootSector.Parse(sector, name);
        }
        catch (CorruptDataException primary)
        {
            // The backup copy sits in the last sector of the volume (mkntfs and Windows both write it there).
            if (data.Length < 2 * NtfsBootSector.Size) throw;
            data.ReadExactly(data.Length - NtfsBootSector.Size, sector, $"{name}: NTFS backup boot sector");
            if (!NtfsBootSector.LooksLikeNtfs(sector)) throw;
            boot = NtfsBootSector.Parse(sector, name);
            warnings.Add($"boot sector damaged ({primary.Problem}); using the backup boot sector");
        }
        if (boot.VolumeSize > data.Length)
            warnings.Add($"volume claims {boot.VolumeSize} bytes but only {data.Length} are present; reads past the end will fail");
        var mft = BootstrapMft(data, name, boot, warnings);
        var fs = new NtfsFileSystem(data, name, options, boot, mft);
        try
        {
            fs._warnings.AddRange(warnings);
            fs.ReadVolumeInformation();
            var root = fs.LoadFile(RootRecord);
            if (!root.HasIndex) throw new CorruptDataException($"{name}: MFT record 5", 0, "the root directory has no $I30 index");
            return fs;
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _files.Dispose();
        _nodes.Dispose();
    }

    // ------------------------------------------------------------------------------------------------ the $MFT

    /// <summary>
    /// Record 0 is read where the boot sector says; its $DATA runlist maps the start of the $MFT. When the $MFT is
    /// fragmented, record 0 has an $ATTRIBUTE_LIST naming extension records that hold further runlist pieces; they
    /// are read (in lowest-VCN order) through the map known so far, which always covers them.
    /// </summary>
    private static NtfsDataStream BootstrapMft(IReadAt data, string name, NtfsBootSector boot, List<string> warnings)
    {
        int rs = boot.MftRecordSize;
        long at = checked(boot.MftLcn * boot.ClusterSize);
        var buffer = new byte[rs];
        NtfsMftRecord rec0;
        try
        {
            data.ReadExactly(at, buffer, $"{name}: MFT record 0");
            rec0 = NtfsMftRecord.Parse(buffer, MftRecord, at, name);
        }
        catch (CorruptDataException primary)
        {
            // $MFTMirr holds copies of the first records; its record 0 maps the $MFT just as well.
            long mirror = boot.MftMirrLcn * boot.ClusterSize;
            if (boot.MftMirrLcn <= 0 || boot.MftMirrLcn >= boot.ClusterCount) throw;
            buffer = new byte[rs];
            data.ReadExactly(mirror, buffer, $"{name}: $MFTMirr record 0");
            rec0 = NtfsMftRecord.Parse(buffer, MftRecord, mirror, name);
            warnings.Add($"MFT record 0 is damaged ({primary.Problem}); the $MFT was mapped from its copy in $MFTMirr");
        }
        string where = $"{name}: $MFT";
        var pieces = rec0.Attributes.Where(a => a.Type == NtfsAttributeType.Data && a.Name.Length == 0).ToList();
        if (pieces.Count == 0 || !pieces[0].NonResident) throw new CorruptDataException($"{name}: MFT record 0", at, "$MFT has no non-resident $DATA");
        var listAttr = rec0.Attributes.FirstOrDefault(a => a.Type == NtfsAttributeType.AttributeList);
        var stream = NtfsDataStream.Build(data, where, pieces, boot.ClusterSize, boot.ClusterCount, partial: listAttr is not null);
        if (listAttr is null) return stream;
        var listBytes = ReadAttributeValue(data, listAttr, boot, $"{name}: MFT record 0 $ATTRIBUTE_LIST");
        var entries = NtfsAttributeList.Parse(listBytes, $"{name}: MFT record 0 $ATTRIBUTE_LIST", listAttr.VolumeOffset);
        var seen = new HashSet<long>();
        foreach (var e in entries.Where(e => e.Type == NtfsAttributeType.Data && e.Name.Length == 0 && e.RecordNumber != MftRecord)
                     .OrderBy(e => e.LowestVcn))
        {
            if (!seen.Add(e.RecordNumber)) continue;
            var buf = new byte[rs];
            long off = checked(e.RecordNumber * rs);
            if (stream.Read(off, buf) != rs) throw new CorruptDataException(where, off, $"extension record {e.RecordNumber} lies past the $MFT's mapped part");
            var ext = NtfsMftRecord.Parse(buf, e.RecordNumber, stream.VolumeOffsetOf(off), name);
            if (ext.BaseRecordNumber != MftRecord)
                throw new CorruptDataException($"{name}: MFT record {e.RecordNumber}", Math.Max(0, stream.VolumeOffsetOf(off)), "extension record of $MFT does not point back to record 0");
            pieces.AddRange(ext.Attributes.Where(a => a.Type == NtfsAttributeType.Data && a.Name.Length == 0));
            stream = NtfsDataStream.Build(data, where, pieces, boot.ClusterSize, boot.ClusterCount, partial: true);
        }
        return NtfsDataStream.Build(data, where, pieces, boot.ClusterSize, boot.ClusterCount);
    }

    private static byte[] ReadAttributeValue(IReadAt data, NtfsAttribute a, NtfsBootSector boot, string where)
    {
        if (!a.NonResident) return a.Value.ToArray();
        if (a.DataSize > NtfsAttributeList.MaxSize) throw new CorruptDataException(where, a.VolumeOffset, $"value of {a.DataSize} bytes is absurdly large");
        var s = NtfsDataStream.Build(data, where, [a], boot.ClusterSize, boot.ClusterCount);
        var bytes = new byte[s.Length];
        if (s.Read(0, bytes) != bytes.Length) throw new CorruptDataException(where, a.VolumeOffset, "value cut short");
        return bytes;
    }

    private NtfsMftRecord ReadRecord(long number)
    {
        string where = $"{Name}: MFT record {number}";
        if (number < 0 || number >= _recordCount) throw new CorruptDataException(where, 0, $"record number out of range (the $MFT holds {_recordCount})");
        var buf = new byte[Boot.MftRecordSize];
        long off = number * Boot.MftRecordSize;
        if (_mft.Read(off, buf) != buf.Length) throw new CorruptDataException(where, off, "record cut short");
        return NtfsMftRecord.Parse(buf, number, _mft.VolumeOffsetOf(off), Name);
    }

    /// <summary>
    /// A parsed record is charged twice the record's size: its attributes are copied out of the record, and names
    /// and runlists decoded from them.
    /// </summary>
    internal NtfsFile LoadFile(long number)
    {
        if (_files.TryGet(number, out var file)) return file;
        return _files.Add(number, _parseFile(number), 2L * Boot.MftRecordSize);
    }

    private NtfsFile ParseFile(long number)
    {
        var rec = ReadRecord(number);
        string where = $"{Name}: MFT record {number}";
        if (!rec.InUse) throw new NotInUseException(where);
        if (rec.BaseReference != 0) throw new NotInUseException(where + " (an extension record, not a file)");
        var attrs = new List<NtfsAttribute>(rec.Attributes);
        var listAttr = rec.Attributes.FirstOrDefault(a => a.Type == NtfsAttributeType.AttributeList);
        if (listAttr is not null)
        {
            string lw = $"{where} $ATTRIBUTE_LIST";
            var entries = NtfsAttributeList.Parse(ReadAttributeValue(Volume, listAttr, Boot, lw), lw, listAttr.VolumeOffset);
            var wanted = entries.Where(e => e.RecordNumber != number).ToLookup(e => e.RecordNumber);
            foreach (var group in wanted)
            {
                var ext = ReadRecord(group.Key);
                if (!ext.InUse || ext.BaseRecordNumber != number)
                    throw new CorruptDataException($"{Name}: MFT record {group.Key}", 0, $"extension record listed by record {number} does not belong to it");
                var keys = group.Select(e => (e.Type, e.Instance)).ToHashSet();
                attrs.AddRange(ext.Attributes.Where(a => keys.Contains((a.Type, a.Instance))));
            }
        }
        NtfsStandardInformation? si = null;
        var names = new List<NtfsFileName>();
        NtfsReparsePoint? reparse = null;
        foreach (var a in attrs)
        {
            if (a.NonResident) continue;
            switch (a.Type)
            {
                case NtfsAttributeType.StandardInformation:
                    si ??= NtfsStandardInformation.TryParse(a.Value.Span);
                    break;
                case NtfsAttributeType.FileName:
                    names.Add(NtfsFileName.Parse(a.Value.Span, where, a.VolumeOffset));
                    break;
                case NtfsAttributeType.ReparsePoint:
                    reparse = NtfsReparsePoint.Parse(a.Value.Span, $"{where} $REPARSE_POINT", a.VolumeOffset);
                    break;
            }
        }
        if (reparse is null && attrs.FirstOrDefault(a => a.Type == NtfsAttributeType.ReparsePoint && a.NonResident) is { } nr)
        {
            string rw = $"{where} $REPARSE_POINT";
            if (nr.DataSize > 65536) throw new CorruptDataException(rw, nr.VolumeOffset, "reparse data larger than 64 KiB");
            reparse = NtfsReparsePoint.Parse(ReadAttributeValue(Volume, nr, Boot, rw), rw, nr.VolumeOffset);
        }
        return new NtfsFile
        {
            Number = number, Sequence = rec.Sequence, RecordFlags = rec.Flags, Attributes = attrs,
            StandardInformation = si, Names = names, Reparse = reparse, Where = where,
        };
    }

    private NtfsFile LoadOrThrow(long id)
    {
        try
        {
            return LoadFile(id);
        }
        catch (NotInUseException e)
        {
            throw new FileReadException(e.Message, "no such file (MFT record not in use)");
        }
    }

    // ------------------------------------------------------------------------------------------------ volume facts

    private void ReadVolumeInformation()
    {
        var vol = LoadFile(VolumeRecord);
        var label = vol.Pieces(NtfsAttributeType.VolumeName, "").FirstOrDefault();
        if (label is { NonResident: false }) Label = Utf16NameEscape.Encode(Encoding.Unicode.GetString(label.Value.Span));
        var info = vol.Pieces(NtfsAttributeType.VolumeInformation, "").FirstOrDefault();
        if (info is { NonResident: false } && info.Value.Length >= VolumeFlagsOffset + 2)
        {
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(info.Value.Span[VolumeFlagsOffset..]);
            if ((flags & VolumeDirtyFlag) != 0)
                _warnings.Add("the volume is marked dirty (not cleanly unmounted, or chkdsk pending): opened read-only as it is; recent changes may be missing");
        }
        try
        {
            var log = LoadFile(LogFileRecord).GetStream(this, NtfsAttributeType.Data, "");
            var clean = NtfsLogFile.IsClean(log, $"{Name}: $LogFile");
            if (clean == false)
                _warnings.Add("$LogFile holds changes that were not checkpointed (crash-consistent or hibernated volume): opened read-only without replaying them; recent changes may be missing");
        }
        catch (VmdkMountException e)
        {
            _warnings.Add($"$LogFile could not be checked: {e.Message}");
        }
    }

    private NtfsUpCase LoadUpCase()
    {
        try
        {
            var s = LoadFile(UpCaseRecord).GetStream(this, NtfsAttributeType.Data, "");
            var bytes = new byte[NtfsUpCase.Bytes];
            int n = s.Read(0, bytes);
            if (n < NtfsUpCase.Bytes) lock (_warnings) _warnings.Add($"$UpCase holds {n} bytes instead of {NtfsUpCase.Bytes}; the rest maps to itself");
            return NtfsUpCase.FromBytes(bytes.AsSpan(0, n));
        }
        catch (VmdkMountException e)
        {
            lock (_warnings) _warnings.Add($"$UpCase unreadable ({e.Message}); using a simple ASCII upcase table");
            var t = new byte[NtfsUpCase.Bytes];
            for (int i = 0; i < NtfsUpCase.Entries; i++)
                BinaryPrimitives.WriteUInt16LittleEndian(t.AsSpan(2 * i), (ushort)(i is >= 'a' and <= 'z' ? i - 32 : i));
            return NtfsUpCase.FromBytes(t);
        }
    }

    // ------------------------------------------------------------------------------------------------ directories

    private NtfsFile LoadDirectory(long id)
    {
        var dir = LoadOrThrow(id);
        if (!dir.HasIndex) throw new FileReadException($"{Name}: MFT record {id}", "not a directory");
        return dir;
    }

    private NtfsIndexNode LoadNode(NtfsFile dir, long vcn)
    {
        if (_nodes.TryGet((dir.Number, vcn), out var cached)) return cached;
        var root = dir.GetIndexRoot();
        var alloc = dir.GetIndexAllocation(this);
        var node = NtfsIndexAllocation.ReadNode(alloc, vcn, root.BlockSize, Boot.ClusterSize, $"{dir.Where} $INDEX_ALLOCATION");
        // Parsed entries (keys, names) take about twice the index block they came from.
        return _nodes.Add((dir.Number, vcn), node, 2L * root.BlockSize);
    }

    /// <summary>Every entry of the $I30 B-tree in collation order: an in-order walk with an explicit stack.</summary>
    internal IEnumerable<NtfsIndexEntry> WalkIndex(NtfsFile dir)
    {
        var root = dir.GetIndexRoot();
        long maxNodes = dir.HasAttribute(NtfsAttributeType.IndexAllocation, I30)
            ? dir.GetIndexAllocation(this).Length / root.BlockSize + 1 : 1;
        var visited = new HashSet<long>();
        var stack = new Stack<(NtfsIndexNode Node, int Index, bool Descended)>();
        stack.Push((root.Root, 0, false));
        while (stack.Count > 0)
        {
            var (node, i, descended) = stack.Pop();
            if (i >= node.Entries.Count) continue;
            var e = node.Entries[i];
            if (!descended && e.HasSubnode)
            {
                stack.Push((node, i, true));
                if (!visited.Add(e.SubnodeVcn) || visited.Count > maxNodes)
                    throw new CorruptDataException($"{dir.Where} $INDEX_ALLOCATION", e.SubnodeVcn, "index B-tree has a cycle or more nodes than the allocation holds");
                stack.Push((LoadNode(dir, e.SubnodeVcn), 0, false));
                continue;
            }
            if (!e.IsLast) yield return e;
            stack.Push((node, i + 1, false));
        }
    }

    /// <summary>
    /// Entries whose name equals <paramref name="raw"/> case-insensitively ($UpCase): a B-tree search that follows
    /// every branch that can hold an equal key (POSIX names differing only in case may sit on both sides).
    /// </summary>
    private List<NtfsIndexEntry> SearchIndex(NtfsFile dir, string raw)
    {
        var upcase = _upcase.Value;
        var found = new List<NtfsIndexEntry>();
        var root = dir.GetIndexRoot();
        var visited = new HashSet<long>();
        var pending = new Stack<NtfsIndexNode>();
        pending.Push(root.Root);
        while (pending.Count > 0)
        {
            var node = pending.Pop();
            foreach (var e in node.Entries)
            {
                int c = e.IsLast ? -1 : upcase.Compare(raw, e.Key!.Name);
                if (c <= 0 && e.HasSubnode)
                {
                    if (!visited.Add(e.SubnodeVcn) || visited.Count > 1_000_000)
                        throw new CorruptDataException($"{dir.Where} $INDEX_ALLOCATION", e.SubnodeVcn, "index B-tree has a cycle");
                    pending.Push(LoadNode(dir, e.SubnodeVcn));
                }
                if (c < 0) break;
                if (c == 0) found.Add(e);
            }
        }
        return found;
    }

    /// <summary>The record an index entry names, or null when the entry is stale (record reused or freed).</summary>
    private NtfsFile? Target(NtfsIndexEntry e)
    {
        long rec = NtfsFileReference.Record(e.FileReference);
        ushort seq = NtfsFileReference.Sequence(e.FileReference);
        NtfsFile f;
        try
        {
            f = LoadFile(rec);
        }
        catch (NotInUseException)
        {
            return null;
        }
        if (seq != 0 && f.Sequence != 0 && seq != f.Sequence) return null;
        return f;
    }

    /// <summary>Record number of <paramref name="raw"/> in a directory: exact case first, then Windows' case-insensitive match.</summary>
    private NtfsFile? LookupRaw(NtfsFile dir, string raw)
    {
        var matches = SearchIndex(dir, raw);
        NtfsIndexEntry? pick =
            matches.FirstOrDefault(e => !e.Key!.IsDosOnly && e.Key.Name == raw)
            ?? matches.FirstOrDefault(e => e.Key!.Name == raw)
            ?? matches.FirstOrDefault(e => !e.Key!.IsDosOnly)
            ?? matches.FirstOrDefault();
        if (pick is null) return null;
        var target = Target(pick);
        if (target is not null) return target;
        // The preferred entry was stale; any other live match will do.
        foreach (var e in matches)
            if (e != pick && Target(e) is { } t) return t;
        return null;
    }

    public FsNode? Lookup(long directoryId, string name)
    {
        if (name.Length == 0 || name == "." || name == "..") return null;
        var dir = LoadDirectory(directoryId);
        if (!Utf16NameEscape.TryDecode(name, out string raw)) return null;
        var f = LookupRaw(dir, raw);
        return f is null ? null : NodeOf(f);
    }

    public IReadOnlyList<UnshownEntry> UnshownEntries(long directoryId)
    {
        var dir = LoadDirectory(directoryId);
        var unshown = new List<UnshownEntry>();
        foreach (var _ in ListCore(dir, unshown)) { }
        return unshown;
    }

    public IEnumerable<FsDirEntry> List(long directoryId)
    {
        var dir = LoadDirectory(directoryId);
        return ListCore(dir, null);
    }

    private IEnumerable<FsDirEntry> ListCore(NtfsFile dir, List<UnshownEntry>? unshown)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in WalkIndex(dir))
        {
            var key = e.Key!;
            if (key.IsDosOnly) continue;
            long rec = NtfsFileReference.Record(e.FileReference);
            if (rec == dir.Number)
            {
                // the root lists itself as "."; any other entry that names its own directory is a loop
                if (key.Name != ".") unshown?.Add(new UnshownEntry(Utf16NameEscape.Encode(key.Name), rec, "the entry points at its own directory"));
                continue;
            }
            if (key.Name is "" or "." or "..")
            {
                unshown?.Add(new UnshownEntry(key.Name, rec, "an index entry with this name is not a name a path can hold"));
                continue;
            }
            var target = Target(e);
            if (target is null) continue;
            var node = NodeOf(target);
            if ((node.Attributes & FsAttributes.Metafile) != 0 && !_options.ShowSystemFiles) continue;
            string shown = Utf16NameEscape.Encode(key.Name);
            if (!seen.Add(shown))
            {
                unshown?.Add(new UnshownEntry(shown, rec, "a second index entry with the same name (the name shows the first)"));
                continue;
            }
            yield return new FsDirEntry(shown, node);
        }
    }

    // ------------------------------------------------------------------------------------------------ nodes

    public FsNode Stat(long id) => NodeOf(LoadOrThrow(id));

    private FsNode NodeOf(NtfsFile f)
    {
        var cached = f.CachedNode;
        if (cached is not null) return cached;
        var node = BuildNode(f);
        f.CachedNode = node;
        return node;
    }

    private FsNode BuildNode(NtfsFile f)
    {
        uint fa = f.FileAttributes;
        var (type, device) = TypeOf(f);
        var si = f.StandardInformation;
        var fn = f.PrimaryName;
        long size = 0;
        long? allocated = null;
        if (type == FsNodeType.File)
        {
            var data = f.Pieces(NtfsAttributeType.Data, "").OrderBy(a => a.LowestVcn).FirstOrDefault();
            if (data is not null)
            {
                size = data.DataSize;
                allocated = data.NonResident ? (data.CompressedSize ?? data.AllocatedSize) : 0;
            }
        }
        else if (type == FsNodeType.Symlink)
        {
            size = Encoding.UTF8.GetByteCount(ReadLinkCore(f));
        }
        var attrs = FsAttributes.None;
        if ((fa & NtfsStandardInformation.ReadOnly) != 0) attrs |= FsAttributes.ReadOnly;
        if ((fa & NtfsStandardInformation.Hidden) != 0) attrs |= FsAttributes.Hidden;
        if ((fa & NtfsStandardInformation.System) != 0) attrs |= FsAttributes.System;
        if ((fa & NtfsStandardInformation.Archive) != 0) attrs |= FsAttributes.Archive;
        if ((fa & NtfsStandardInformation.Compressed) != 0) attrs |= FsAttributes.Compressed;
        if ((fa & NtfsStandardInformation.Sparse) != 0) attrs |= FsAttributes.Sparse;
        if ((fa & NtfsStandardInformation.Offline) != 0) attrs |= FsAttributes.Offline;
        if (f.IsEncrypted) attrs |= FsAttributes.Encrypted;
        if (f.Reparse is not null || (fa & NtfsStandardInformation.ReparsePoint) != 0) attrs |= FsAttributes.ReparsePoint;
        if (IsMetafile(f)) attrs |= FsAttributes.Metafile;
        return new FsNode
        {
            Id = f.Number,
            Type = type,
            Size = size,
            Links = f.LinkCount,
            Created = NtfsStandardInformation.ToFsTime(si?.Created ?? fn?.Created ?? 0),
            Modified = NtfsStandardInformation.ToFsTime(si?.Modified ?? fn?.Modified ?? 0),
            Changed = NtfsStandardInformation.ToFsTime(si?.Changed ?? fn?.Changed ?? 0),
            Accessed = NtfsStandardInformation.ToFsTime(si?.Accessed ?? fn?.Accessed ?? 0),
            Attributes = attrs,
            DeviceNumber = device,
            AllocatedSize = allocated,
        };
    }

    private static bool IsMetafile(NtfsFile f) =>
        (f.Number < FirstUserRecord && f.Number != RootRecord)
        || (f.RecordFlags & (NtfsMftRecord.FlagExtend | NtfsMftRecord.FlagViewIndex)) != 0
        || (f.PrimaryName is { } n && n.ParentRecord == 11 && f.Number != 11);

    private (FsNodeType Type, ulong Device) TypeOf(NtfsFile f)
    {
        if (f.Reparse is { } rp)
        {
            switch (rp.Kind)
            {
                case NtfsReparseKind.Symlink or NtfsReparseKind.Junction or NtfsReparseKind.LxSymlink: return (FsNodeType.Symlink, 0);
                case NtfsReparseKind.LxSocket: return (FsNodeType.Socket, 0);
                case NtfsReparseKind.LxFifo: return (FsNodeType.Fifo, 0);
                case NtfsReparseKind.LxCharDevice or NtfsReparseKind.LxBlockDevice: return (FsNodeType.Device, LinuxDevice(f));
            }
        }
        if (f.HasIndex) return (FsNodeType.Directory, 0);
        var interix = NtfsInterix.Detect(this, f);
        return interix switch
        {
            { Kind: NtfsInterix.Kind.Symlink } => (FsNodeType.Symlink, 0),
            { Kind: NtfsInterix.Kind.CharDevice or NtfsInterix.Kind.BlockDevice } i => (FsNodeType.Device, i.Device),
            _ => (FsNodeType.File, 0),
        };
    }

    private ulong LinuxDevice(NtfsFile f)
    {
        var ea = f.Pieces(NtfsAttributeType.Ea, "").FirstOrDefault();
        if (ea is null) return 0;
        string where = $"{f.Where} $EA";
        if (ea.DataSize > NtfsExtendedAttributes.MaxSize) throw new CorruptDataException(where, ea.VolumeOffset, "$EA larger than 64 KiB");
        return NtfsExtendedAttributes.LinuxDevice(NtfsExtendedAttributes.Parse(ReadAttributeValue(Volume, ea, Boot, where), where, ea.VolumeOffset));
    }

    // ------------------------------------------------------------------------------------------------ data

    /// <summary>The data path: a cache hit, then straight into the stream's run map (no allocation per call).</summary>
    public int Read(long id, long offset, Span<byte> destination)
    {
        var f = LoadOrThrow(id);
        var plan = f.ReadPlan ??= PlanRead(f);
        if (plan.Refusal is not null) throw new FileReadException($"{Name}: MFT record {id}", plan.Refusal);
        return plan.Stream is null ? 0 : plan.Stream.Read(offset, destination);
    }

    /// <summary>Decided once per file: why its data cannot be read, or the stream to read it from.</summary>
    private NtfsReadPlan PlanRead(NtfsFile f)
    {
        var node = NodeOf(f);
        if (node.Type == FsNodeType.Directory) return new NtfsReadPlan(null, "is a directory");
        if (node.Type != FsNodeType.File) return new NtfsReadPlan(null, $"is a {node.Type.ToString().ToLowerInvariant()}, it has no data to read");
        if (RefusalOf(f) is { } refusal) return new NtfsReadPlan(null, refusal);
        if (!f.HasAttribute(NtfsAttributeType.Data, "")) return new NtfsReadPlan(null, null);
        return new NtfsReadPlan(f.GetStream(this, NtfsAttributeType.Data, ""), null);
    }

    private const string EncryptedRefusal = "encrypted (EFS): the content cannot be read without the owner's key";

    private static string? RefusalOf(NtfsFile f)
    {
        if (f.IsEncrypted) return EncryptedRefusal;
        if (f.Reparse is { } rp)
        {
            uint fa = f.FileAttributes;
            bool recall = (fa & (NtfsStandardInformation.Offline | NtfsStandardInformation.RecallOnOpen | NtfsStandardInformation.RecallOnDataAccess)) != 0;
            if (NtfsReparsePoint.DataIsElsewhere(rp.Tag) || (recall && rp.Kind == NtfsReparseKind.Other))
                return $"{NtfsReparsePoint.Describe(rp.Tag)}: the data is not stored in this file";
        }
        return null;
    }

    public IReadOnlyList<FsStream> ListStreams(long id)
    {
        var f = LoadOrThrow(id);
        var list = new List<FsStream>();
        foreach (var name in f.StreamNames())
        {
            var first = f.Pieces(NtfsAttributeType.Data, name).OrderBy(a => a.LowestVcn).First();
            list.Add(new FsStream(Utf16NameEscape.Encode(name), first.DataSize));
        }
        return list;
    }

    public int ReadStream(long id, string streamName, long offset, Span<byte> destination)
    {
        var f = LoadOrThrow(id);
        string what = $"{Name}: MFT record {id}:{streamName}";
        if (!Utf16NameEscape.TryDecode(streamName, out string raw)) throw new FileReadException(what, "no such stream");
        var upcase = _upcase.Value;
        string? name = f.StreamNames().FirstOrDefault(n => n == raw)
            ?? f.StreamNames().FirstOrDefault(n => upcase.Compare(n, raw) == 0)
            ?? throw new FileReadException(what, "no such stream");
        if (f.IsEncrypted) throw new FileReadException(what, EncryptedRefusal);
        return f.GetStream(this, NtfsAttributeType.Data, name).Read(offset, destination);
    }

    internal byte[] ReadSmallData(NtfsFile f, int max)
    {
        var s = f.GetStream(this, NtfsAttributeType.Data, "");
        var b = new byte[(int)Math.Min(max, s.Length)];
        int n = s.Read(0, b);
        return n == b.Length ? b : b[..n];
    }

    // ------------------------------------------------------------------------------------------------ links

    public string ReadLink(long id)
    {
        var f = LoadOrThrow(id);
        if (NodeOf(f).Type != FsNodeType.Symlink) throw new FileReadException($"{Name}: MFT record {id}", "not a symbolic link");
        return ReadLinkCore(f);
    }

    private string ReadLinkCore(NtfsFile f)
    {
        string stored;
        bool windows;
        if (f.Reparse is { IsLink: true } rp)
        {
            stored = rp.Target!;
            windows = rp.Kind != NtfsReparseKind.LxSymlink;
            if (rp.Kind == NtfsReparseKind.Symlink && rp.Relative) return Relative(f, stored.Split('\\'), stored);
        }
        else if (NtfsInterix.Detect(this, f) is { Kind: NtfsInterix.Kind.Symlink } ix)
        {
            stored = ix.Target!;
            windows = false;
        }
        else
        {
            throw new FileReadException($"{Name}: MFT record {f.Number}", "not a symbolic link");
        }
        if (stored.Length > MaxLinkTargetLength) return Unresolved("too-long");
        if (windows) return WindowsAbsolute(f, stored);
        if (!stored.StartsWith('/')) return Relative(f, stored.Split('/'), stored);
        // A WSL or Interix absolute path names the Linux root; /mnt/<letter>/... is a Windows drive seen from WSL.
        var parts = stored.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length >= 2 && parts[0] == "mnt" && parts[1].Length == 1 && char.IsAsciiLetter(parts[1][0]))
            return DriveRelative(f, parts[2..], stored);
        return Unresolved(stored.TrimStart('/'));
    }

    /// <summary>
    /// The dead form (see <see cref="UnresolvedLinkRoot"/>). `.` and `..` components of the original become `%2E` and
    /// `%2E%2E`, so that no resolver can climb back out of the dead directory into the volume.
    /// </summary>
    private static string Unresolved(string original)
    {
        var parts = original.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p switch { "." => "%2E", ".." => "%2E%2E", _ => Utf16NameEscape.Encode(p) });
        return UnresolvedLinkRoot + "/" + string.Join('/', parts);
    }

    /// <summary>`\??\C:\a\b`, `\\?\C:\a`, `C:\a`: a drive path is taken as this volume when it resolves inside it.</summary>
    private string WindowsAbsolute(NtfsFile link, string target)
    {
        string t = target;
        if (t.StartsWith(@"\??\", StringComparison.Ordinal) || t.StartsWith(@"\\?\", StringComparison.Ordinal)) t = t[4..];
        if (t.Length >= 2 && char.IsAsciiLetter(t[0]) && t[1] == ':' && (t.Length == 2 || t[2] == '\\'))
            return DriveRelative(link, t[2..].Split('\\', StringSplitOptions.RemoveEmptyEntries), t);
        if (t.StartsWith(@"UNC\", StringComparison.OrdinalIgnoreCase)) return Unresolved(t);
        if (t.StartsWith(@"\\", StringComparison.Ordinal)) return Unresolved("UNC" + t[1..]);
        return Unresolved(t);
    }

    /// <summary>
    /// Resolves the components from the root without following links. Inside the volume -> `/a/b`; missing
    /// component, `..` above the root, or the link itself / one of its ancestors (a loop) -> the unresolved form.
    /// </summary>
    private string DriveRelative(NtfsFile link, string[] components, string original)
    {
        var path = new List<string>();
        var nodes = new List<NtfsFile> { LoadFile(RootRecord) };
        bool stoppedAtLink = false;
        foreach (var c in components)
        {
            if (c == ".") continue;
            if (c == "..")
            {
                if (path.Count == 0) return Unresolved(original);
                path.RemoveAt(path.Count - 1);
                if (!stoppedAtLink) nodes.RemoveAt(nodes.Count - 1);
                continue;
            }
            path.Add(c);
            if (stoppedAtLink) continue;
            var cur = nodes[^1];
            // Through another link the rest can only be checked by following it, which the resolver will do.
            if (cur.Reparse is { IsLink: true }) { stoppedAtLink = true; continue; }
            if (!cur.HasIndex) return Unresolved(original);
            var next = LookupRaw(cur, c);
            if (next is null) return Unresolved(original);
            nodes.Add(next);
        }
        if (!stoppedAtLink && IsSelfOrAncestor(link, nodes[^1].Number)) return Unresolved(original);
        return "/" + string.Join('/', path.Select(Utf16NameEscape.Encode));
    }

    /// <summary>
    /// A relative target as stored, its <paramref name="components"/> (split on the target's own separator) each
    /// escaped and joined with `/`, unless it climbs above the root or loops back to an ancestor.
    /// </summary>
    private string Relative(NtfsFile link, string[] components, string target)
    {
        var ancestors = Ancestors(link);
        if (ancestors is null) return Unresolved(target);
        int depth = ancestors.Count - 1; // ancestors[0] = parent directory, last = root
        var stack = new List<long>(ancestors.AsEnumerable().Reverse()); // root .. parent
        bool lexicalOnly = false;
        foreach (var c in components)
        {
            if (c.Length == 0 || c == ".") continue;
            if (c == "..")
            {
                if (depth == 0) return Unresolved(target);
                depth--;
                if (stack.Count > 1) stack.RemoveAt(stack.Count - 1);
                continue;
            }
            depth++;
            if (lexicalOnly) continue;
            var dir = LoadFile(stack[^1]);
            var next = dir.HasIndex && dir.Reparse is not { IsLink: true } ? LookupRaw(dir, c) : null;
            if (next is null) { lexicalOnly = true; continue; }
            stack.Add(next.Number);
        }
        if (!lexicalOnly && IsSelfOrAncestor(link, stack[^1])) return Unresolved(target);
        return string.Join('/', components.Where(c => c.Length > 0).Select(c => c is "." or ".." ? c : Utf16NameEscape.Encode(c)));
    }

    private bool IsSelfOrAncestor(NtfsFile link, long record) =>
        record == link.Number || (Ancestors(link)?.Contains(record) ?? false);

    /// <summary>Parent chain of a file up to the root (parent first, root last), or null if it never gets there.</summary>
    private List<long>? Ancestors(NtfsFile f)
    {
        var chain = new List<long>();
        var seen = new HashSet<long> { f.Number };
        var cur = f;
        for (int i = 0; i < MaxParentDepth; i++)
        {
            var n = cur.PrimaryName;
            if (n is null) return null;
            long parent = n.ParentRecord;
            if (cur.Number == RootRecord) return chain.Count == 0 ? [RootRecord] : chain;
            if (!seen.Add(parent)) return null;
            chain.Add(parent);
            if (parent == RootRecord) return chain;
            try { cur = LoadFile(parent); }
            catch (NotInUseException) { return null; }
        }
        return null;
    }

    /// <summary>A record that is free or is not a base record: not a file (an internal signal, never escapes).</summary>
    internal sealed class NotInUseException(string where) : VmdkMountException(where);
}
