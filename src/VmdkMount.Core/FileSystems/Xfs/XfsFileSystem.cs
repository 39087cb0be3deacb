using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems.Ext;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>
/// XFS reader, versions 4 and 5 (format digest: shared/docs/xfs.md). Node ids are inode numbers (64-bit, AG-packed);
/// the root is the superblock's rootino. Opening reads the superblock and checks the log's state; inodes, extent maps
/// (lists and BMBTs), directory blocks and listings are read on first use and kept in bounded caches on the mount's
/// one budget. A lookup in a block, leaf or node directory goes through the hash index (<see cref="XfsDirectoryLookup"/>)
/// unless the directory is already listed. The log is never replayed: a log that does not end in an unmount record
/// opens with a warning. On v5 every metadata block's CRC is checked when it is read; a mismatch fails the call that
/// needed that structure, with its name and offset, and nothing else. Realtime files are refused (their data is on a
/// device a disk image does not have). Extended attributes are not read: the interface has no place for them yet.
/// </summary>
public sealed partial class XfsFileSystem : IFileSystem, ISymlinkReader, IFileAllocationMap, IReportsUnshownEntries
{
    /// <summary>Cache charge per run of an extent map and per entry of a listed directory (with its name).</summary>
    private const long RunBytes = 24, DirectoryEntryBytes = 80;
    /// <summary>Cache charge of a block map's object and its three arrays, whatever its runs.</summary>
    private const long MapObjectBytes = 112;

    private readonly XfsVolume _vol;
    private readonly XfsDirectoryBlocks _dirBlocks;
    private readonly BoundedCache<ulong, ExtDataMap> _maps;
    private readonly BoundedCache<ulong, XfsDirectory> _dirs;
    private readonly Func<XfsInode, ExtDataMap> _mapOf;

    private XfsFileSystem(XfsVolume vol)
    {
        _vol = vol;
        _dirBlocks = new XfsDirectoryBlocks(vol);
        _maps = new(vol.Budget, CacheBudget.PerFileObjectsBytes);
        _dirs = new(vol.Budget);
        _mapOf = GetMap;
    }

    public static IFileSystem Open(IReadAt data, string name, FileSystemOptions options)
    {
        var raw = new byte[XfsSuperblock.MaxSectorSize];
        int n = data.ReadAt(0, raw.AsSpan(0, (int)Math.Min(raw.Length, data.Length)));
        if (n < 512)
            throw new CorruptDataException($"{name} XFS superblock", 0, $"volume of {data.Length} bytes is too small for an XFS superblock");
        var sb = XfsSuperblock.Parse(raw.AsSpan(0, n), name);
        var vol = new XfsVolume(data, name, sb, options.Cache ?? CacheBudget.Shared);
        var fs = new XfsFileSystem(vol);
        try
        {
            foreach (var w in sb.OpenWarnings()) vol.Warnings.Add(w);
            if (sb.DataBlocks > (ulong)(data.Length / sb.BlockSize))
                vol.Warnings.Add($"{name}: the volume ({data.Length} bytes) is shorter than the filesystem ({sb.DataBlocks} blocks of {sb.BlockSize}); files in the missing part cannot be read");
            var log = XfsLog.Check(vol);
            if (log != XfsLog.State.Clean || sb.LogIncompat != 0)
                vol.Warnings.Add($"{name}: XFS log not clean (filesystem was not unmounted cleanly{(log == XfsLog.State.Unknown ? "; log state unknown" : "")}); " +
                    "showing the on-disk state without the journal's recent changes; recently changed files may be missing, stale or inconsistent");
            var root = vol.ReadInode(sb.RootInode, "superblock root inode", 56);
            if (!root.IsDirectory)
                throw new CorruptDataException($"{name} inode {sb.RootInode}", root.Offset, "the root inode is not a directory");
            return fs;
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    public string Kind => Volumes.FileSystemKinds.Xfs;

    public string? Label => _vol.Sb.Label;

    public long RootId => (long)_vol.Sb.RootInode;

    public IReadOnlyList<string> Warnings => _vol.Warnings.Snapshot();

    public FsNode Stat(long id) => ToNode(Inode(id));

    public FsNode? Lookup(long directoryId, string name)
    {
        var dir = Inode(directoryId);
        RequireDirectory(dir);
        if (dir.Format == XfsInode.FormatLocal || _dirs.TryGet(dir.Number, out _))
        {
            var listed = Directory(dir);
            if (!listed.ByName.TryGetValue(name, out int index) && (listed.ByNameIgnoreCase is null || !listed.ByNameIgnoreCase.TryGetValue(name, out index)))
                return null;
            return ToNode(_vol.ReadInode(listed.Entries[index].Inode));
        }
        if (name is "." or ".." || name.Length == 0) return null;
        var bytes = ExtNames.Unescape(name);
        if (bytes is null || bytes.Length > 255) return null;
        var ino = XfsDirectoryLookup.Find(_vol, _dirBlocks, dir, GetMap(dir), bytes);
        return ino is { } found ? ToNode(_vol.ReadInode(found, $"directory inode {dir.Number} entry", dir.Offset)) : null;
    }

    public IEnumerable<FsDirEntry> List(long directoryId)
    {
        var dir = Directory(Inode(directoryId));
        var result = new FsDirEntry[dir.Entries.Length];
        for (int i = 0; i < result.Length; i++)
        {
            var e = dir.Entries[i];
            FsNode node;
            try
            {
                node = ToNode(_vol.ReadInode(e.Inode, $"directory inode {directoryId} entry", 0));
            }
            catch (CorruptDataException ex)
            {
                // one damaged inode must not hide its siblings: list it as "other" and say why
                _vol.Warnings.Add(ex.Message);
                node = new FsNode { Id = (long)e.Inode, Type = FsNodeType.Other, Size = 0 };
            }
            result[i] = new FsDirEntry(e.Name, node);
        }
        return result;
    }

    public IReadOnlyList<UnshownEntry> UnshownEntries(long directoryId) => Directory(Inode(directoryId)).Unshown;

    public int Read(long id, long offset, Span<byte> destination)
    {
        var inode = RegularFile(id);
        if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset));
        if (offset >= inode.Size || destination.IsEmpty) return 0;
        int total = (int)Math.Min(destination.Length, inode.Size - offset);
        destination = destination[..total];
        var map = GetMap(inode);
        int bs = _vol.BlockSize;
        long pos = offset;
        int done = 0;
        while (done < total)
        {
            long logical = pos >> _vol.Sb.BlockLog;
            int within = (int)(pos & (bs - 1));
            long? physical = map.Map(logical, out long count);
            long runBytes = count >= (long.MaxValue >> _vol.Sb.BlockLog) ? long.MaxValue : count * bs - within;
            int chunk = (int)Math.Min(total - done, runBytes);
            var part = destination.Slice(done, chunk);
            if (physical is { } p && p != ExtDataMap.Unwritten)
                _vol.ReadFileData(p * bs + within, part, inode.Number);
            else
                part.Clear();
            done += chunk;
            pos += chunk;
        }
        return total;
    }

    public string ReadLink(long id)
    {
        var inode = Inode(id);
        if (inode.Type != XfsInode.TypeSymlink)
            throw new FileReadException($"{_vol.Name} inode {id}", "is not a symlink");
        return ExtNames.DecodeTarget(XfsSymlink.ReadTarget(_vol, inode, _mapOf));
    }

    public void Dispose()
    {
        _maps.Dispose();
        _dirs.Dispose();
        _dirBlocks.Dispose();
        _vol.Dispose();
    }

    private XfsInode Inode(long id)
    {
        if (id <= 0) throw new CorruptDataException($"{_vol.Name} inode {id}", 0, "inode number out of range");
        return _vol.ReadInode((ulong)id);
    }

    private XfsInode RegularFile(long id)
    {
        var inode = Inode(id);
        if (inode.Type != XfsInode.TypeFile)
            throw new FileReadException($"{_vol.Name} inode {id}", inode.IsDirectory ? "is a directory" : "is not a regular file");
        if ((inode.Flags & XfsInode.FlagRealtime) != 0)
            throw new UnsupportedFeatureException($"{_vol.Name} inode {id}", "file data on the realtime device, which is not part of this disk");
        return inode;
    }

    private void RequireDirectory(XfsInode inode)
    {
        if (!inode.IsDirectory) throw new FileReadException($"{_vol.Name} inode {inode.Number}", "is not a directory");
    }

    private ExtDataMap GetMap(XfsInode inode)
    {
        if (_maps.TryGet(inode.Number, out var map)) return map;
        map = XfsExtentList.Build(_vol, inode);
        return _maps.Add(inode.Number, map, MapObjectBytes + map.RunCount * RunBytes);
    }

    private XfsDirectory Directory(XfsInode inode)
    {
        RequireDirectory(inode);
        if (_dirs.TryGet(inode.Number, out var dir)) return dir;
        dir = XfsDirectoryReader.Read(_vol, _dirBlocks, inode, _mapOf);
        return _dirs.Add(inode.Number, dir, (dir.Entries.Length + 1) * DirectoryEntryBytes);
    }

    private FsNode ToNode(XfsInode inode)
    {
        var type = inode.NodeType;
        long size = type is FsNodeType.File or FsNodeType.Directory or FsNodeType.Symlink ? inode.Size : 0;
        return new FsNode
        {
            Id = (long)inode.Number,
            Type = type,
            Size = size,
            Links = (int)Math.Min(inode.Links, int.MaxValue),
            Mode = (uint)(inode.Mode & 0xFFF),
            Uid = inode.Uid,
            Gid = inode.Gid,
            Created = inode.Created,
            Modified = inode.Modified,
            Changed = inode.Changed,
            Accessed = inode.Accessed,
            DeviceNumber = type == FsNodeType.Device ? inode.DeviceNumber : 0,
            IsBlockDevice = inode.Type == XfsInode.TypeBlock,
            AllocatedSize = (long)Math.Min(inode.Blocks, (ulong)(long.MaxValue >> _vol.Sb.BlockLog)) << _vol.Sb.BlockLog,
        };
    }
}
