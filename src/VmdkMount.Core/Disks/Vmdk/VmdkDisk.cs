using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// A VMDK chain, flattened: the newest link with every older link showing through where the newer ones hold
/// nothing. Opening reads each link's header and descriptor only; which link owns each byte is resolved per block of
/// <see cref="BlockBytes"/> on first use and cached (bounded), so a read costs the same at any depth.
/// </summary>
public sealed class VmdkDisk : IDiskChain
{
    /// <summary>Granularity of the cached owner map: one grain table of a 64 KiB-grain sparse extent.</summary>
    public const long BlockBytes = 32L << 20;

    private readonly VmdkLink[] _links;
    private readonly BoundedCache<long, OwnerRun[]> _owners;
    private readonly CacheBudget _budget;
    private readonly List<string> _warnings;
    // A point's view shares the links of the chain it was cut from: only the full chain (or the view that was handed
    // the full chain to keep) closes them.
    private readonly IDisposable? _keeps;
    private readonly bool _ownsLinks = true;

    private VmdkDisk(string source, VmdkLink[] links, List<string> warnings, CacheBudget budget, IDisposable? keeps = null, bool ownsLinks = true)
    {
        _keeps = keeps;
        _ownsLinks = ownsLinks;
        _budget = budget;
        _owners = new(budget);
        Source = source;
        _links = links;
        _warnings = warnings;
        Length = links[0].Length;
    }

    public string Source { get; }

    public long Length { get; }

    /// <summary>The chain, newest link first.</summary>
    public IReadOnlyList<VmdkLink> Links => _links;

    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>Each link's own file and every extent file it opened (ZERO and NOACCESS extents open none).</summary>
    public IReadOnlyList<string> SourceFiles
    {
        get
        {
            var files = new List<string>();
            foreach (var link in _links)
            {
                files.Add(link.Path);
                foreach (var placed in link.Extents)
                    if (placed.Line is { FileName: not null, Access: not ExtentAccess.NoAccess } line && line.Type != "ZERO")
                        files.Add(placed.Extent.FileName);
            }
            return files.Distinct(StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>Opens the chain whose newest link is the local file <paramref name="path"/>, its files read through <paramref name="pool"/>.</summary>
    public static VmdkDisk OpenChain(string path, DiskOpenOptions options, FileHandlePool pool) =>
        OpenChain(path, options, new LocalSourceStore(pool, options.ConfineTo));

    /// <summary>Opens the chain whose newest link is <paramref name="path"/> in <paramref name="store"/>, following parents iteratively.</summary>
    public static VmdkDisk OpenChain(string path, DiskOpenOptions options, ISourceStore store)
    {
        string full = store.FullName(path);
        switch (store.Kind(full))
        {
            case SourceEntryKind.Folder: throw new SourceUnavailableException(path, "is a folder, not a VMDK file");
            case SourceEntryKind.Missing: throw new SourceUnavailableException(path, "no such file");
        }
        var links = new List<VmdkLink>();
        // Identities, not names: a parent reached through a link or another spelling of a chain file is a loop too.
        var seen = new HashSet<SourceIdentity>();
        var warnings = new List<string>();
        var rules = ChainFileRules.From(options);
        var locator = new ParentLocator(store, options.ParentFolders);
        try
        {
            VmdkLink link;
            try
            {
                link = VmdkLinkOpener.Open(full, store, options.RecoverTruncatedStreams, rules, options.Cache);
            }
            catch (CorruptDataException e) when (e.Problem.StartsWith("not a VMDK", StringComparison.Ordinal) && e.Hint is null)
            {
                // only for DISK itself: a parent that is no VMDK is a broken chain, not a raw image given by mistake
                e.Hint = "if DISK is a raw disk image (dd, qemu-img -O raw), add --raw-input";
                throw;
            }
            links.Add(link);
            seen.Add(store.Identity(full));
            while (link.HasParent)
            {
                if (links.Count >= options.MaxChainDepth)
                    throw new ChainException($"{full}: chain deeper than {options.MaxChainDepth} links (stopped at {link.Path})");
                var (parentPath, foundBy) = locator.Locate(link, seen);
                if (!seen.Add(store.Identity(parentPath)))
                    throw new ChainException($"{link.Path}: parent loop: its parent {parentPath} is already in the chain of {full}");
                var parent = VmdkLinkOpener.OpenParent(link, parentPath, foundBy, store, options.RecoverTruncatedStreams, rules, options.Cache);
                links.Add(parent);
                parent.FoundBy = foundBy;
                if (parent.Cid != link.ParentCid)
                {
                    string msg = $"CID mismatch: {link.Path} has parentCID {link.ParentCid:x8} but its parent {parent.Path} has CID " +
                                 (parent.Cid is uint c ? c.ToString("x8") : "(none)") + " (the parent changed after the snapshot was taken)";
                    if (!options.IgnoreCidMismatch) throw new ChainException(msg + "; --ignore-cid-mismatch opens it anyway");
                    warnings.Add(msg + "; ignored on request");
                }
                if (parent.Length != link.Length)
                    warnings.Add($"{link.Path}: capacity {link.Length} differs from its parent's {parent.Length} ({parent.Path})");
                link = parent;
            }
            if (link.Descriptor?.ParentFileNameHint is { } stale && !link.HasParent)
                warnings.Add($"{link.Path}: base disk carries a parentFileNameHint ('{stale}'); ignored");
        }
        catch
        {
            foreach (var l in links) l.Dispose();
            throw;
        }
        var all = new List<string>();
        foreach (var l in links) all.AddRange(l.Warnings);
        all.AddRange(warnings);
        return new VmdkDisk(path, links.ToArray(), all, options.Cache ?? CacheBudget.Shared);
    }

    /// <summary>
    /// The chain as of restore point <paramref name="linkIndex"/> (an index into <see cref="Links"/>): that link as the
    /// top, its parents below. The view shares this chain's open links (files, grain-table caches), so opening every
    /// point of a deep chain costs nothing per point; it must not outlive this chain unless <paramref name="keepChain"/>
    /// hands this chain to the view, which then closes it.
    /// </summary>
    public VmdkDisk AsOf(int linkIndex, bool keepChain = false)
    {
        if (linkIndex < 0 || linkIndex >= _links.Length)
            throw new ContractViolationException($"{Source}: restore point {linkIndex} outside the chain of {_links.Length} links");
        var links = _links[linkIndex..];
        var warnings = new List<string>();
        foreach (var l in links) warnings.AddRange(l.Warnings);
        return new VmdkDisk(links[0].Path, links, warnings, _budget, keepChain ? this : null, ownsLinks: false);
    }

    /// <summary>The owner runs of the block holding <paramref name="offset"/>.</summary>
    private OwnerRun[] Block(long offset)
    {
        long block = offset / BlockBytes;
        if (_owners.TryGet(block, out var runs)) return runs;
        long start = block * BlockBytes;
        runs = OwnerMapBuilder.Build(_links, start, Math.Min(Length, start + BlockBytes));
        _owners.Add(block, runs, runs.Length * 32L + 64);
        return runs;
    }

    private static int FindRun(OwnerRun[] runs, long offset)
    {
        int lo = 0, hi = runs.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >> 1;
            if (runs[mid].Start <= offset) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    public int ReadAt(long offset, Span<byte> destination)
    {
        if (offset < 0) throw new ContractViolationException($"{Source}: read at negative offset {offset}");
        if (offset >= Length || destination.IsEmpty) return 0;
        if (destination.Length > Length - offset) destination = destination[..(int)(Length - offset)];
        int total = destination.Length;
        while (!destination.IsEmpty)
        {
            var runs = Block(offset);
            var run = runs[FindRun(runs, offset)];
            int n = (int)Math.Min(destination.Length, run.End - offset);
            if (run.State is GrainState.Data or GrainState.NoAccess) _links[run.Link].ReadData(offset, destination[..n]);
            else destination[..n].Clear();
            destination = destination[n..];
            offset += n;
        }
        return total;
    }

    public IEnumerable<AllocatedRange> QueryAllocated(long offset, long length)
    {
        long pendingStart = -1, pendingEnd = -1;
        foreach (var r in Owners(offset, length))
        {
            if (r.State != GrainState.Data) continue;
            if (pendingEnd == r.Start)
            {
                pendingEnd = r.End;
                continue;
            }
            if (pendingStart >= 0) yield return new AllocatedRange(pendingStart, pendingEnd - pendingStart);
            (pendingStart, pendingEnd) = (r.Start, r.End);
        }
        if (pendingStart >= 0) yield return new AllocatedRange(pendingStart, pendingEnd - pendingStart);
    }

    /// <summary>
    /// The owner runs within [offset, offset+length): which link supplies each byte (for `map`, `export` and tests).
    /// Cost follows the runs the links report, not the capacity: at each position the links are asked top-down (each
    /// link's last answer is kept while it lasts), and a run that lasts at least one <see cref="BlockBytes"/> block
    /// (a ZERO or flat extent, an absent grain table, a link's end) is answered in one step; only where runs are
    /// shorter is the cached per-block owner map used. A 1 PiB disk of ZERO extents and 1 MiB of data costs a few
    /// steps.
    /// </summary>
    public IEnumerable<OwnerRun> Owners(long offset, long length)
    {
        long end = Math.Min(Length, length > 0 && offset > long.MaxValue - length ? long.MaxValue : offset + length);
        // Each link's latest answer, valid for [start, end): a link is asked again only past the end of its last run.
        var cursorStart = new long[_links.Length];
        var cursorEnd = new long[_links.Length];
        var cursorState = new GrainState[_links.Length];
        for (long pos = Math.Max(0, offset); pos < end;)
        {
            var run = Resolve(pos, end, cursorStart, cursorEnd, cursorState);
            long blockEnd = Math.Min(end, (pos / BlockBytes + 1) * BlockBytes);
            if (run.End >= blockEnd)
            {
                yield return run;
                pos = run.End;
                continue;
            }
            var runs = Block(pos);
            for (int i = FindRun(runs, pos); i < runs.Length && runs[i].Start < blockEnd; i++)
            {
                var r = runs[i];
                long s = Math.Max(r.Start, pos), e = Math.Min(r.End, blockEnd);
                yield return r with { Start = s, Length = e - s };
            }
            pos = blockEnd;
        }
    }

    /// <summary>
    /// The owner run starting at <paramref name="pos"/> (clamped to <paramref name="end"/>): the topmost link whose
    /// state there is not unallocated, lasting while that link's run and every unallocated run above it last.
    /// Iterative over the chain; each step either answers or moves one link down.
    /// </summary>
    private OwnerRun Resolve(long pos, long end, long[] cursorStart, long[] cursorEnd, GrainState[] cursorState)
    {
        long limit = end;
        for (int link = 0; link < _links.Length; link++)
        {
            if (pos < cursorStart[link] || pos >= cursorEnd[link])
            {
                var m = _links[link].Map(pos);
                cursorStart[link] = pos;
                cursorEnd[link] = pos + Math.Min(Math.Max(1, m.Length), long.MaxValue - pos);
                cursorState[link] = m.State;
            }
            limit = Math.Min(limit, cursorEnd[link]);
            if (cursorState[link] != GrainState.Unallocated) return new OwnerRun(pos, limit - pos, link, cursorState[link]);
        }
        return new OwnerRun(pos, limit - pos, -1, GrainState.Unallocated);
    }

    public void Dispose()
    {
        _owners.Dispose();
        if (_ownsLinks)
            foreach (var l in _links) l.Dispose();
        _keeps?.Dispose();
    }
}
