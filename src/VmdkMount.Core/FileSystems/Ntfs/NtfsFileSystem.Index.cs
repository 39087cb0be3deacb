using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// Directories: the $I30 B-tree (index root and INDX nodes, walked iteratively and cached), name search with
/// $UpCase collation, and Lookup / List / UnshownEntries on top of it.
/// </summary>
public sealed partial class NtfsFileSystem
{
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
}
