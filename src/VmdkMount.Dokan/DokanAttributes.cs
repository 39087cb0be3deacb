using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;
using VmdkMount.Dokan.Native;

namespace VmdkMount.Dokan;

/// <summary>FILE_ATTRIBUTE_* values and the rules that give a mount node its Windows attributes and times.</summary>
public static class DokanAttributes
{
    public const uint ReadOnly = 0x1, Hidden = 0x2, System = 0x4, Directory = 0x10, Archive = 0x20, Normal = 0x80,
        Sparse = 0x200, ReparsePoint = 0x400, Compressed = 0x800, Offline = 0x1000, Encrypted = 0x4000;

    /// <summary>
    /// The attributes Windows sees. NTFS keeps its own (hidden, system, archive, read-only, compressed, sparse,
    /// encrypted, offline). Other filesystems have no such bits that Windows would read the same way: files are
    /// read-only (folders not: on a folder READONLY tells Explorer to look for a desktop.ini customisation), dot
    /// names on Unix filesystems are hidden as ls hides them, and FAT keeps its hidden/system/archive bits.
    /// REPARSE_POINT is never set: Dokan has no callback for FSCTL_GET_REPARSE_POINT, so a program that saw the bit
    /// and asked for the reparse data would fail; links are followed inside the mount instead (<see cref="DokanLookup"/>).
    /// </summary>
    public static uint Of(MountInode inode, string name, bool offlineFiles)
    {
        uint a;
        switch (inode.Kind)
        {
            case MountNodeKind.Root:
            case MountNodeKind.PointFolder:
            case MountNodeKind.UnreadableVolume:
                return Directory;
            case MountNodeKind.DiskImage:
                a = ReadOnly;
                break;
            default:
                var node = inode.Node!;
                bool dir = node.Type == FsNodeType.Directory;
                a = dir ? Directory : 0;
                var own = node.Attributes;
                if (inode.FileSystem?.Kind == "ntfs")
                {
                    if ((own & FsAttributes.ReadOnly) != 0) a |= ReadOnly;
                    if ((own & FsAttributes.Compressed) != 0) a |= Compressed;
                    if ((own & FsAttributes.Sparse) != 0) a |= Sparse;
                    if ((own & FsAttributes.Encrypted) != 0) a |= Encrypted;
                    if ((own & FsAttributes.Offline) != 0) a |= Offline;
                }
                else if (!dir) a |= ReadOnly;
                if ((own & FsAttributes.Hidden) != 0) a |= Hidden;
                if ((own & FsAttributes.System) != 0) a |= System;
                if ((own & FsAttributes.Archive) != 0) a |= Archive;
                if (node.Mode is not null && name.StartsWith('.')) a |= Hidden;
                break;
        }
        if ((a & Directory) == 0 && offlineFiles) a |= Offline;
        return a == 0 ? Normal : a;
    }

    /// <summary>FILETIME ticks of <paramref name="time"/>; 0 (no time) before 1601 or when unknown.</summary>
    public static FileTime ToFileTime(FsTime? time)
    {
        if (time is not { } t) return default;
        long ticks;
        try
        {
            ticks = checked(t.UnixSeconds * 10_000_000 + t.Nanoseconds / 100 + FileTime.UnixEpochTicks);
        }
        catch (OverflowException)
        {
            return default;
        }
        return ticks < 0 ? default : new FileTime(ticks);
    }

    /// <summary>Creation, last access and last write: what WIN32_FIND_DATAW and BY_HANDLE_FILE_INFORMATION carry.</summary>
    public static (FileTime Created, FileTime Accessed, FileTime Written) Times(MountInode inode, FsTime mountTime)
    {
        if (inode.Kind != MountNodeKind.FsNode)
        {
            var m = ToFileTime(mountTime);
            return (m, m, m);
        }
        var node = inode.Node!;
        var written = node.Modified ?? node.Changed ?? node.Created;
        return (ToFileTime(node.Created ?? written), ToFileTime(node.Accessed ?? written), ToFileTime(written));
    }
}
