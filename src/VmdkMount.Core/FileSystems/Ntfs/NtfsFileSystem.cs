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
///
/// One job per file: this one holds the state and Open; <c>.Mft</c> the $MFT bootstrap and record cache;
/// <c>.VolumeFacts</c> $Volume, $LogFile and $UpCase; <c>.Index</c> the $I30 B-tree, Lookup and List; <c>.Nodes</c>
/// node building; <c>.Data</c> the main data stream; <c>.Streams</c> alternate data streams; <c>.Links</c> link-target
/// rewriting; <c>.AllocationMap</c> the data runs; <c>.Probe</c> how volume discovery recognises NTFS.
/// </summary>
public sealed partial class NtfsFileSystem : IFileSystem, IReportsUnshownEntries
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
        _files = new(budget, CacheBudget.PerFileObjectsBytes);
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
}
