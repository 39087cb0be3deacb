namespace VmdkMount.Dokan;

/// <summary>
/// Names known to be absent, per folder. Explorer and the shell ask every folder they show for desktop.ini,
/// Thumbs.db, autorun.inf, folder.jpg and the like, again on every refresh, and antivirus scanners repeat lookups too;
/// backups do not change, so one miss answers every later ask without the reader (for a case-sensitive volume a
/// miss costs a folder listing). Bounded: at most <c>folders</c> folders and <c>namesPerFolder</c> names each; when
/// either fills, the oldest-filled part is simply dropped (a forgotten miss is only asked for again).
/// </summary>
public sealed class NegativeCache(int folders, int namesPerFolder)
{
    private readonly Dictionary<FolderKey, HashSet<string>> _byFolder = new();
    private readonly Queue<FolderKey> _order = new();
    private readonly Lock _gate = new();

    public int Folders
    {
        get { lock (_gate) return _byFolder.Count; }
    }

    public bool IsKnownMissing(FolderKey folder, string name)
    {
        lock (_gate) return _byFolder.TryGetValue(folder, out var names) && names.Contains(name);
    }

    public void Add(FolderKey folder, string name)
    {
        lock (_gate)
        {
            if (!_byFolder.TryGetValue(folder, out var names))
            {
                while (_byFolder.Count >= folders && _order.TryDequeue(out var oldest)) _byFolder.Remove(oldest);
                // Exact spellings: on a case-sensitive volume `CASE.TXT` can miss (ambiguous) while `Case.txt` is there.
                _byFolder[folder] = names = new HashSet<string>(StringComparer.Ordinal);
                _order.Enqueue(folder);
            }
            // The shell's probe names are the ones asked for again and again: they keep their place when a folder fills.
            if (names.Count >= namesPerFolder)
            {
                if (WindowsRules.ShellProbeNames.Contains(name)) names.RemoveWhere(n => !WindowsRules.ShellProbeNames.Contains(n));
                if (names.Count >= namesPerFolder) return;
            }
            names.Add(name);
        }
    }
}

/// <summary>
/// A folder as the negative cache knows it: by its volume and filesystem node id, which stay the same when the tree
/// lets go of a node and makes it again; the mount's own folders (root, restore points) by their pinned inode number.
/// </summary>
public readonly record struct FolderKey(int Volume, long Id)
{
    public static FolderKey Of(VmdkMount.Core.Mounting.MountInode dir) =>
        dir.Kind == VmdkMount.Core.Mounting.MountNodeKind.FsNode ? new FolderKey(dir.VolumeIndex, dir.Node!.Id) : new FolderKey(-1, (long)dir.Ino);
}
