namespace VmdkMount.Core.Transports;

/// <summary>
/// A place the files of one chain come from: a local folder tree, or the folders of an HTTP(S) server. The disk layer
/// opens descriptors, extents and parents only through this, so it never learns whether a name is a host path or a
/// URL, and the rules of a safe open (regular files only, no kernel files, --confine) live with the store that knows
/// how its names are spelled. Names are the store's own spelling (for a local store: host paths); every member is
/// thread-safe.
/// </summary>
public interface ISourceStore
{
    /// <summary>The absolute spelling of a name as the user gave it (a local path is made absolute from the working folder).</summary>
    string FullName(string name);

    /// <summary>The folder holding <paramref name="name"/>, for messages and as the anchor of names relative to it.</summary>
    string FolderOf(string name);

    /// <summary>
    /// <paramref name="name"/> (a descriptor's extent name, a parent hint, or a bare file name) read relative to the
    /// folder of <paramref name="relativeTo"/>, normalised (`..` and `.` applied); an absolute name stays itself.
    /// </summary>
    string Resolve(string relativeTo, string name);

    /// <summary>Whether <paramref name="name"/> lies inside <paramref name="folder"/>, comparing spellings only (no access).</summary>
    bool IsUnder(string name, string folder);

    /// <summary>
    /// The folder holding <paramref name="name"/> as it really is (links resolved), so that the chain can check an
    /// opened file's <see cref="ISourceFile.RealName"/> against it.
    /// </summary>
    string RealFolderOf(string name);

    /// <summary>What is at <paramref name="name"/> (links followed), without opening it: nothing, a folder, a regular file or a special file.</summary>
    SourceEntryKind Kind(string name);

    /// <summary>The files in the folder holding <paramref name="name"/> (absolute names, in no particular order): the candidates of a CID search.</summary>
    IReadOnlyList<string> FilesBeside(string name);

    /// <summary>
    /// Why <see cref="FilesBeside"/> could not list the folder of <paramref name="name"/> (a web server that lists no
    /// folders), for the parent-missing error: a CID search then had nothing to search. Null when it could.
    /// </summary>
    string? WhyNotListed(string name) => null;

    /// <summary>What makes two names one file, for loop detection: a link or another spelling of the same file gives the same identity.</summary>
    SourceIdentity Identity(string name);

    /// <summary>
    /// Opens <paramref name="name"/> read-only. Refuses (a <see cref="Errors.SourceUnavailableException"/> naming the
    /// file and the reason) anything that is not a plain file of a backup, without blocking.
    /// </summary>
    ISourceFile Open(string name);
}

/// <summary>What a name of a <see cref="ISourceStore"/> is, before any open.</summary>
public enum SourceEntryKind
{
    /// <summary>Nothing there.</summary>
    Missing,

    /// <summary>A folder.</summary>
    Folder,

    /// <summary>A regular file: the only kind a chain reads.</summary>
    RegularFile,

    /// <summary>
    /// A FIFO, socket or device node. A search treats it as a file that is there (see
    /// <see cref="SourceEntryKinds.IsFile"/>), so that the open refuses it with the reason ("a FIFO, not a regular
    /// file") instead of the search passing over it as if nothing were there.
    /// </summary>
    SpecialFile,
}

/// <summary>Questions about a <see cref="SourceEntryKind"/>.</summary>
public static class SourceEntryKinds
{
    /// <summary>Whether something other than a folder is there: a regular file, or a special file the open will refuse by name.</summary>
    public static bool IsFile(this SourceEntryKind kind) => kind is SourceEntryKind.RegularFile or SourceEntryKind.SpecialFile;
}

/// <summary>
/// The identity of one file of a store: (device, inode) for a local file, so that a symbolic link, a hard link or
/// another spelling of its path is the same file; <see cref="Name"/> (a canonical spelling) where the store cannot
/// tell more (a name that cannot be stat'ed, a remote file).
/// </summary>
public readonly record struct SourceIdentity(ulong Device, ulong Inode, string? Name);

/// <summary>A file of a <see cref="ISourceStore"/>, open for positional, thread-safe reads.</summary>
public interface ISourceFile : IReadAt, IDisposable
{
    /// <summary>The name it was opened by (what error messages show).</summary>
    string Name { get; }

    /// <summary>Where it really is (links and `..` resolved), for the checks of where a chain's files may lie.</summary>
    string RealName { get; }
}
