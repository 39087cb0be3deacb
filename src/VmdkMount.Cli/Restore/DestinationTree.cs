using System.Text;
using VmdkMount.Cli.Restore.Native;

namespace VmdkMount.Cli.Restore;

/// <summary>
/// Every write of a restore, each relative to an open <see cref="DestinationDirectory"/> and never following a link:
/// directories are made with mkdirat and entered with O_NOFOLLOW|O_DIRECTORY; a file or link whose name is free is made
/// at that name (O_CREAT|O_EXCL|O_NOFOLLOW, symlinkat: both fail rather than follow or replace anything that is or
/// appears there), and one whose name is taken is made under a fresh temporary name and renamed over the final name
/// when complete (hard links always are). So a name
/// from the image cannot climb out (the caller refuses `/`, `.`, `..`), a symlink already in DEST is replaced rather
/// than written through (as tar does), two image entries that map to one host name replace each other instead of one
/// writing through the other, and an existing file is either untouched or wholly replaced. An entry that is a file of
/// the opened chain is never replaced or removed.
/// </summary>
internal sealed class DestinationTree(ChainFileSet chain)
{
    /// <summary>Tries for a temporary name that nobody holds; each try is a new random name.</summary>
    private const int TemporaryNameTries = 16;
    /// <summary>Longest name the temporary may wrap (NAME_MAX is 255 bytes; the wrapping adds 20).</summary>
    private const int MaxWrappedNameBytes = 230;
    /// <summary>Replacing what is in the way of a directory, then making it, is retried this often against churn.</summary>
    private const int MakeDirectoryTries = 3;

    public const string TemporaryMarker = ".vmdkmount-";

    /// <summary>-n: never replace an existing entry; what is there stays, and the restored one is dropped.</summary>
    public bool NoClobber { get; init; }

    /// <summary>Whether something (of any kind, links not followed) is at <paramref name="name"/> in <paramref name="parent"/>.</summary>
    public static bool Exists(DestinationDirectory parent, string name) =>
        PosixAt.TryStat(parent.Fd, name, PosixAt.AtSymlinkNoFollow, out _);

    /// <summary>Whether a real directory (not a link to one) is at <paramref name="name"/>.</summary>
    public static bool IsDirectory(DestinationDirectory parent, string name) =>
        PosixAt.TryStat(parent.Fd, name, PosixAt.AtSymlinkNoFollow, out var s) && s.IsDirectory;

    /// <summary>
    /// Opens a directory the user named (DEST, or the folder DEST is to be made in). Links in it are followed: the user
    /// chose the path, and `cp -r` treats DEST the same way. Nothing below it is ever followed.
    /// </summary>
    public static DestinationDirectory OpenUserDirectory(string path)
    {
        PosixAt.ThrowIfNotLinux();
        int fd = PosixAt.OpenAt(PosixAt.AtFdCwd, path, PosixAt.OReadOnly | PosixAt.ODirectory | PosixAt.OCloseOnExec, 0);
        if (fd < 0) throw PosixAt.Fail(path);
        return new DestinationDirectory(fd, path, null, null);
    }

    /// <summary>Makes directory <paramref name="name"/> in <paramref name="parent"/>, or reuses a real one; returns its descriptor.</summary>
    public int MakeDirectory(DestinationDirectory parent, string name)
    {
        string where = parent.Child(name);
        for (int attempt = 0; attempt < MakeDirectoryTries; attempt++)
        {
            if (PosixAt.MkdirAt(parent.Fd, name, 0x1FF) == 0) break;
            var failure = PosixAt.Fail(where);
            if (failure.HResult != PosixAt.EExist) throw failure;
            if (!PosixAt.TryStat(parent.Fd, name, PosixAt.AtSymlinkNoFollow, out var existing)) continue;
            if (existing.IsDirectory) break;
            RefuseChainFile(existing, where);
            if (NoClobber) throw new IOException($"{where}: exists and is not a directory; not replaced (--no-clobber)");
            // A link, file or device where a directory goes is removed, never entered.
            if (PosixAt.UnlinkAt(parent.Fd, name, 0) != 0) throw PosixAt.Fail($"{where}: removing what is in the way");
        }
        int fd = PosixAt.OpenAt(parent.Fd, name,
            PosixAt.OReadOnly | PosixAt.ODirectory | PosixAt.ONoFollow | PosixAt.OCloseOnExec, 0);
        if (fd < 0) throw PosixAt.Fail($"{where}: opening the directory (no-follow)");
        return fd;
    }

    /// <summary>
    /// A new, empty file for <paramref name="name"/>, open for writing: at the name itself when it is free (one
    /// directory operation instead of two: on a journaling filesystem the rename of a temporary cost a restore of many
    /// small files about a fifth of its time), else under a temporary name for <see cref="Commit"/> (null when made at
    /// the name). Fd is -1 when <see cref="NoClobber"/> keeps what is at the name.
    /// </summary>
    public (int Fd, string? TemporaryName) CreateFile(DestinationDirectory parent, string name)
    {
        int fd = PosixAt.OpenAt(parent.Fd, name,
            PosixAt.OWriteOnly | PosixAt.OCreate | PosixAt.OExclusive | PosixAt.ONoFollow | PosixAt.OCloseOnExec, 0x1B6);
        if (fd >= 0) return (fd, null);
        var failure = PosixAt.Fail(parent.Child(name));
        if (failure.HResult != PosixAt.EExist) throw failure;
        if (NoClobber) return (-1, null);
        var (temporaryFd, temporary) = CreateTemporaryFile(parent, name);
        return (temporaryFd, temporary);
    }

    /// <summary>Removes a file that <see cref="CreateFile"/> made at its final name and whose write failed; best effort.</summary>
    public static void RemoveCreated(DestinationDirectory parent, string name)
    {
        if (parent.Fd >= 0) PosixAt.UnlinkAt(parent.Fd, name, 0);
    }

    /// <summary>A new, empty file under a temporary name beside <paramref name="name"/>, open for writing.</summary>
    public (int Fd, string TemporaryName) CreateTemporaryFile(DestinationDirectory parent, string name)
    {
        CheckReplaceable(parent, name);
        for (int i = 0; i < TemporaryNameTries; i++)
        {
            string temp = TemporaryName(name);
            int fd = PosixAt.OpenAt(parent.Fd, temp,
                PosixAt.OWriteOnly | PosixAt.OCreate | PosixAt.OExclusive | PosixAt.ONoFollow | PosixAt.OCloseOnExec, 0x1B6);
            if (fd >= 0) return (fd, temp);
            var failure = PosixAt.Fail(parent.Child(temp));
            if (failure.HResult != PosixAt.EExist) throw failure;
        }
        throw new IOException($"{parent.Child(name)}: no free temporary name after {TemporaryNameTries} tries");
    }

    /// <summary>
    /// Renames a complete temporary over the final name (atomic: the old entry, if any, is whole until then). With
    /// <see cref="NoClobber"/> the temporary is linked to the name instead, which fails rather than replace an entry
    /// that appeared meanwhile; false then, and the temporary is gone.
    /// </summary>
    public bool Commit(DestinationDirectory parent, string temporaryName, string name)
    {
        CheckReplaceable(parent, name);
        if (NoClobber)
        {
            int linked = PosixAt.LinkAt(parent.Fd, temporaryName, parent.Fd, name, 0);
            var failure = linked == 0 ? null : PosixAt.Fail(parent.Child(name));
            RemoveTemporary(parent, temporaryName);
            if (failure is null) return true;
            if (failure.HResult == PosixAt.EExist) return false;
            throw failure;
        }
        if (PosixAt.RenameAt(parent.Fd, temporaryName, parent.Fd, name) != 0) throw PosixAt.Fail(parent.Child(name));
        return true;
    }

    /// <summary>Removes a temporary left by a failed or interrupted write; best effort, the error is already being reported.</summary>
    public static void RemoveTemporary(DestinationDirectory parent, string temporaryName)
    {
        if (parent.Fd >= 0) PosixAt.UnlinkAt(parent.Fd, temporaryName, 0);
    }

    /// <summary>
    /// A symlink whose text is <paramref name="target"/>: made at the name when it is free, else under a temporary
    /// name and renamed into place. False when <see cref="NoClobber"/> keeps what is there.
    /// </summary>
    public bool MakeSymlink(DestinationDirectory parent, string name, string target, Core.FileSystems.FsNode node)
    {
        if (PosixAt.SymlinkAt(target, parent.Fd, name) == 0)
        {
            Timestamps.ApplyToEntry(parent.Fd, name, node);
            return true;
        }
        var direct = PosixAt.Fail(parent.Child(name));
        if (direct.HResult != PosixAt.EExist) throw direct;
        if (NoClobber) return false;
        CheckReplaceable(parent, name);
        for (int i = 0; i < TemporaryNameTries; i++)
        {
            string temp = TemporaryName(name);
            if (PosixAt.SymlinkAt(target, parent.Fd, temp) != 0)
            {
                var failure = PosixAt.Fail(parent.Child(name));
                if (failure.HResult == PosixAt.EExist) continue;
                throw failure;
            }
            try
            {
                Timestamps.ApplyToEntry(parent.Fd, temp, node);
                return Commit(parent, temp, name);
            }
            catch
            {
                RemoveTemporary(parent, temp);
                throw;
            }
        }
        throw new IOException($"{parent.Child(name)}: no free temporary name after {TemporaryNameTries} tries");
    }

    /// <summary>
    /// Hard-links an already restored file (linkat, not following) under <paramref name="name"/>. False when that is not
    /// possible or when the first name no longer holds the file restored there (a later entry of the same name
    /// replaced it); the caller then copies.
    /// </summary>
    public bool TryHardLink(DestinationDirectory firstDir, string firstName, PosixAt.EntryStat firstId, DestinationDirectory parent, string name)
    {
        if (firstDir.Fd < 0) return false;
        CheckReplaceable(parent, name);
        string temp = TemporaryName(name);
        if (PosixAt.LinkAt(firstDir.Fd, firstName, parent.Fd, temp, 0) != 0) return false;
        try
        {
            if (!PosixAt.TryStat(parent.Fd, temp, PosixAt.AtSymlinkNoFollow, out var made)
                || made.Device != firstId.Device || made.Inode != firstId.Inode)
            {
                RemoveTemporary(parent, temp);
                return false;
            }
            if (Commit(parent, temp, name)) return true;
            return false;
        }
        catch
        {
            RemoveTemporary(parent, temp);
            throw;
        }
    }

    /// <summary>An existing entry may be replaced unless it is a chain file or a directory (rename cannot replace one with a file).</summary>
    private void CheckReplaceable(DestinationDirectory parent, string name)
    {
        if (!PosixAt.TryStat(parent.Fd, name, PosixAt.AtSymlinkNoFollow, out var existing)) return;
        string where = parent.Child(name);
        RefuseChainFile(existing, where);
        if (NoClobber) return; // nothing is replaced: the commit links, and keeps what is there
        if (existing.IsDirectory) throw new IOException($"{where}: a directory is in the way; not replaced");
    }

    private void RefuseChainFile(PosixAt.EntryStat existing, string where)
    {
        if (chain.Contains(existing))
            throw new IOException($"{where}: is a file of the opened disk chain; not replaced");
    }

    /// <summary>`.NAME.vmdkmount-XXXXXXXX`: hidden, tied to its final name, and recognisable as ours.</summary>
    public static string TemporaryName(string name)
    {
        string random = Random.Shared.Next().ToString("x8");
        return Encoding.UTF8.GetByteCount(name) <= MaxWrappedNameBytes ? $".{name}{TemporaryMarker}{random}" : $"{TemporaryMarker}{random}";
    }
}
