namespace VmdkMount.Core.FileSystems;

/// <summary>
/// Optional: a reader that leaves directory entries out of <see cref="IFileSystem.List"/> because no name can show
/// them says which. What cannot be shown, whatever the escape: an entry named `.` or `..` other than the directory's
/// own two, an entry with an empty name, and a second entry with exactly the same name as an earlier one (the shown
/// name must lead back to one entry). Every other stored name is shown, escaped where needed (see
/// <see cref="Utf16NameEscape"/> and <c>ExtNames</c>). Frontends report these (ls: one stderr line each, exit 1).
/// </summary>
public interface IReportsUnshownEntries
{
    /// <summary>The entries of a directory that its listing leaves out, in on-disk order; empty when none.</summary>
    IReadOnlyList<UnshownEntry> UnshownEntries(long directoryId);
}

/// <param name="Name">The stored name, shown with the reader's escape (`..`, `` for empty).</param>
/// <param name="Id">The node the entry points to (inode, MFT record, FAT entry id); -1 when unknown.</param>
/// <param name="Reason">Why it is left out.</param>
public readonly record struct UnshownEntry(string Name, long Id, string Reason);
