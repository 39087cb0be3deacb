namespace VmdkMount.Core.FileSystems;

/// <summary>Optional reader capability: the format has symbolic links (NTFS, ext). FAT and exFAT have none.</summary>
public interface ISymlinkReader
{
    /// <summary>
    /// A symlink's target with '/' as the separator and components escaped as names are (a separator inside a
    /// component is never a separator here). Targets inside the volume are volume-absolute (`/Users/Public`) or
    /// relative as stored; a target that names another drive or a network path is returned in a form that resolves
    /// to nothing (documented per reader). Readers do not clamp `..`: where a link points depends on the place it is
    /// reached from, which only the frontend knows, so every frontend confines targets with
    /// <see cref="Mounting.LinkTarget"/>.
    /// </summary>
    string ReadLink(long id);
}
