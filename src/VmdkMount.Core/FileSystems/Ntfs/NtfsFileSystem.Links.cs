using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// Symbolic links and junctions: the reparse point's target rewritten to a volume path (absolute, drive-relative,
/// relative), and targets off the volume or in a loop sent under <see cref="UnresolvedLinkRoot"/>.
/// </summary>
public sealed partial class NtfsFileSystem : ISymlinkReader
{
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
}
