using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks;

/// <summary>Options for opening a disk source.</summary>
public sealed record DiskOpenOptions
{
    /// <summary>Open a chain even when a child's parentCID does not match its parent's CID.</summary>
    public bool IgnoreCidMismatch { get; init; }

    /// <summary>Longest chain accepted; deeper is reported as an error (a loop guard as much as a limit).</summary>
    public int MaxChainDepth { get; init; } = 65536;

    /// <summary>Treat the source as a raw image instead of sniffing for VMDK.</summary>
    public bool Raw { get; init; }

    /// <summary>
    /// Read a streamOptimized file whose footer is missing (a cut-short download or copy) from the grain records that
    /// survive, found by walking the stream; grains past the cut read as zeros. Off by default: such a file is an error.
    /// </summary>
    public bool RecoverTruncatedStreams { get; init; }

    /// <summary>
    /// A block cache in front of the flattened disk (small metadata reads), charged to <see cref="Cache"/>. Null: on
    /// for a remote DISK, where every small read is a round trip; off for local files, where the readers' own caches
    /// and the host's page cache measured faster. A one-shot command reads each block once anyway.
    /// </summary>
    public bool? BlockCache { get; init; }

    /// <summary>
    /// Sequential read-ahead under the block cache (<see cref="Caching.SequentialReadAhead"/>). Null: on for a remote
    /// DISK, where a stream of reads otherwise waits a round trip each; off for local files, which the host's page
    /// cache reads ahead already.
    /// </summary>
    public bool? ReadAhead { get; init; }

    /// <summary>
    /// The memory budget every cache of this disk (grain tables, decompressed grains, the block cache) shares with the
    /// filesystems read from it (null: <see cref="Caching.CacheBudget.Shared"/>).
    /// </summary>
    public Caching.CacheBudget? Cache { get; init; }

    /// <summary>
    /// Let an extent lie outside the folder of the descriptor that names it (an absolute path, `..`, or a link out of
    /// it). Off by default: VMware writes plain file names, so anything else is a descriptor reaching for host files.
    /// </summary>
    public bool AllowOutsideExtents { get; init; }

    /// <summary>A folder every file of the chain (DISK, descriptors, extents, parents) must lie under after links are resolved; null for none.</summary>
    public string? ConfineTo { get; init; }

    /// <summary>
    /// More folders to search for a parent the child's own folder does not hold (--parent-dir): by the hint's file
    /// name, then by CID, in the order given. A --confine folder still bounds what may be opened from them.
    /// </summary>
    public IReadOnlyList<string> ParentFolders { get; init; } = [];

    /// <summary>
    /// Open the chain as of this restore point (see <see cref="RestorePointName"/>): that link as the top of the chain,
    /// its parents as usual. Null: DISK itself.
    /// </summary>
    public string? AtPoint { get; init; }

    /// <summary>How a remote DISK (an NBD URI, an HTTP(S) URL) is reached: timeouts, retries, request size, TLS trust, headers.</summary>
    public RemoteOptions Remote { get; init; } = new();
}

/// <summary>Opens a DISK argument: a VMDK (newest link of a chain, a host path or an `http(s)://` URL), a raw image, or an NBD export (`nbd://`, `nbds://`, `nbd+unix://`).</summary>
public static class DiskOpener
{
    public static IVirtualDisk Open(string source, DiskOpenOptions? options = null)
    {
        options ??= new DiskOpenOptions();
        if (options.AtPoint is not null && (options.Raw || Transports.Nbd.NbdUri.IsNbd(source)))
            throw new ArgumentException($"--at {options.AtPoint}: {source} is not a VMDK chain, it has no restore points");
        if (Transports.Nbd.NbdUri.IsNbd(source))
        {
            // an export is already a flattened disk: no VMDK sniffing, volumes and filesystems are read straight from it
            IVirtualDisk export = Transports.Nbd.NbdDisk.Open(source, options.Remote);
            if (options.ReadAhead ?? true) export = new ReadAheadDisk(export);
            return options.BlockCache ?? true ? new CachedDisk(export, options.Cache ?? Caching.CacheBudget.Shared) : export;
        }
        var store = StoreFor(source, options);
        // a URL is named by its redacted spelling from here on: the disk's Source and every message show only that
        string name = store is Transports.Http.HttpSourceStore http ? http.DiskName : source;
        IVirtualDisk disk = options.Raw ? new RawDisk(store, name) : AsOfPoint(VmdkDisk.OpenChain(name, options, store), options.AtPoint, store);
        return options.BlockCache ?? false ? new CachedDisk(disk, options.Cache ?? Caching.CacheBudget.Shared) : disk;
    }

    private static VmdkDisk AsOfPoint(VmdkDisk chain, string? point, ISourceStore store)
    {
        if (point is null) return chain;
        try
        {
            int index = RestorePointName.Resolve(chain.Links, point, store.FullName);
            return index == 0 ? chain : chain.AsOf(index, keepChain: true);
        }
        catch
        {
            chain.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Where the files of DISK come from. The one place a DISK argument picks its transport: an `http(s)://` URL is
    /// read by range requests (each file behind its own read-ahead cache on the disk's budget), a host path from the
    /// local folder tree. (`nbd://` is a flattened export, opened above without a store.)
    /// </summary>
    internal static ISourceStore StoreFor(string source, DiskOpenOptions options) =>
        Transports.Http.HttpUrl.IsHttp(source)
            ? new Transports.Http.HttpSourceStore(source, options.Remote, Caching.ReadAheadCache.On(options.Cache ?? Caching.CacheBudget.Shared))
            : new LocalSourceStore(FileHandlePool.Shared, options.ConfineTo);
}
