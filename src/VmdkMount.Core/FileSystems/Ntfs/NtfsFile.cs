using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// A file as NTFS defines it: a base MFT record plus the attributes of its extension records (found through its
/// $ATTRIBUTE_LIST). Parsed once and cached; streams are assembled on first use. Immutable apart from those lazies.
/// </summary>
internal sealed class NtfsFile
{
    // No lock object or stream map per file: a mount keeps every file the kernel has looked up, so the common case
    // (the unnamed $DATA stream) has a field, other streams a map made on first use, and both are guarded by
    // locking this instance (internal, never handed to a caller that could lock it too).
    private NtfsDataStream? _data;
    private Dictionary<(uint Type, string Name), NtfsDataStream>? _streams;
    private NtfsDataStream? _indexAllocation;
    private NtfsIndexRoot? _indexRoot;
    private FsNode? _node;
    private NtfsReadPlan? _readPlan;

    public required long Number { get; init; }
    public required ushort Sequence { get; init; }
    public required ushort RecordFlags { get; init; }
    /// <summary>
    /// The attributes other than the resident $STANDARD_INFORMATION and $FILE_NAME ones, whose parsed forms are
    /// <see cref="StandardInformation"/> and <see cref="Names"/>.
    /// </summary>
    public required IReadOnlyList<NtfsAttribute> Attributes { get; init; }
    public required NtfsStandardInformation? StandardInformation { get; init; }
    public required IReadOnlyList<NtfsFileName> Names { get; init; }
    public required NtfsReparsePoint? Reparse { get; init; }
    /// <summary>The volume's name as messages give it (shared by every file of the volume).</summary>
    public required string VolumeName { get; init; }

    /// <summary>Where this file is, for messages (built when needed rather than kept per file).</summary>
    public string Where => $"{VolumeName}: MFT record {Number}";

    /// <summary>What the file cache charges for this file: the objects and bytes it keeps, roughly.</summary>
    public long EstimatedBytes
    {
        get
        {
            long bytes = 160 + 48L * Names.Count;
            foreach (var n in Names) bytes += 2L * n.Name.Length + 24;
            foreach (var a in Attributes) bytes += 152 + a.StoredBytes;
            return bytes;
        }
    }

    public bool HasIndex => (RecordFlags & NtfsMftRecord.FlagDirectory) != 0 || Attributes.Any(a => a.Type == NtfsAttributeType.IndexRoot && a.Name == NtfsFileSystem.I30);

    public uint FileAttributes => StandardInformation?.FileAttributes ?? (Names.Count > 0 ? Names[0].FileAttributes : 0);

    public bool IsEncrypted => _isEncrypted ??= ComputeEncrypted();

    private bool? _isEncrypted;

    private bool ComputeEncrypted() =>
        (FileAttributes & NtfsStandardInformation.Encrypted) != 0
        || Attributes.Any(a => a.Type == NtfsAttributeType.Data && a.IsEncrypted)
        || Attributes.Any(a => a.Type == NtfsAttributeType.LoggedUtilityStream && a.Name == "$EFS");

    /// <summary>The first non-DOS name (the one to show when a single name is needed), else any name.</summary>
    public NtfsFileName? PrimaryName => Names.FirstOrDefault(n => !n.IsDosOnly) ?? Names.FirstOrDefault();

    public int LinkCount => Math.Max(1, Names.Count(n => !n.IsDosOnly));

    public IEnumerable<NtfsAttribute> Pieces(uint type, string name) =>
        Attributes.Where(a => a.Type == type && a.Name == name);

    public bool HasAttribute(uint type, string name) => Attributes.Any(a => a.Type == type && a.Name == name);

    /// <summary>Names of the named $DATA streams, in stored order, each once.</summary>
    public IEnumerable<string> StreamNames() =>
        Attributes.Where(a => a.Type == NtfsAttributeType.Data && a.Name.Length > 0).Select(a => a.Name).Distinct(StringComparer.Ordinal);

    public NtfsDataStream GetStream(NtfsFileSystem fs, uint type, string name)
    {
        bool main = type == NtfsAttributeType.Data && name.Length == 0;
        lock (this)
        {
            if (main && _data is not null) return _data;
            if (!main && _streams is not null && _streams.TryGetValue((type, name), out var s)) return s;
        }
        var pieces = Pieces(type, name).ToList();
        var built = NtfsDataStream.Build(fs.Volume, $"{Where} attribute 0x{type:X}{(name.Length > 0 ? " '" + name + "'" : "")}",
            pieces, fs.Boot.ClusterSize, fs.Boot.ClusterCount);
        lock (this)
        {
            if (main) return _data ??= built;
            _streams ??= new();
            return _streams.TryAdd((type, name), built) ? built : _streams[(type, name)];
        }
    }

    public NtfsIndexRoot GetIndexRoot()
    {
        var root = Volatile.Read(ref _indexRoot);
        if (root is not null) return root;
        var attr = Pieces(NtfsAttributeType.IndexRoot, NtfsFileSystem.I30).FirstOrDefault()
            ?? throw new CorruptDataException(Where, 0, "directory has no $INDEX_ROOT $I30");
        if (attr.NonResident) throw new CorruptDataException(Where, attr.VolumeOffset, "$INDEX_ROOT is non-resident");
        root = NtfsIndexRoot.Parse(attr.Value.Span, $"{Where} $INDEX_ROOT", attr.VolumeOffset);
        Volatile.Write(ref _indexRoot, root);
        return root;
    }

    public NtfsDataStream GetIndexAllocation(NtfsFileSystem fs)
    {
        var a = Volatile.Read(ref _indexAllocation);
        if (a is not null) return a;
        a = GetStream(fs, NtfsAttributeType.IndexAllocation, NtfsFileSystem.I30);
        Volatile.Write(ref _indexAllocation, a);
        return a;
    }

    /// <summary>Set once by the reader's first Read of this file.</summary>
    public NtfsReadPlan? ReadPlan
    {
        get => Volatile.Read(ref _readPlan);
        set => Volatile.Write(ref _readPlan, value);
    }

    public FsNode? CachedNode
    {
        get => Volatile.Read(ref _node);
        set => Volatile.Write(ref _node, value);
    }
}

/// <summary>How Read serves a file: its main stream, or the reason it cannot.</summary>
internal sealed record NtfsReadPlan(NtfsDataStream? Stream, string? Refusal);
