using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// ext2/3/4 reader. Node ids are inode numbers; the root is inode 2. Opening reads the superblock only; group
/// descriptors, inode table blocks, extent trees / block maps and directories are read on first use and kept in
/// bounded caches. The journal is never replayed (a volume with needs_recovery opens with a warning).
/// What is refused (listed with the feature's name): compression, journal_dev, dirdata and unknown incompat bits.
/// Encrypted (fscrypt) directories and files are reported as such: listing or reading them raises
/// <see cref="FileReadException"/> with the reason. Casefold directories list names as stored and look names up
/// case-insensitively when there is no exact match. See <see cref="ExtNames"/> for names that are not UTF-8 and
/// <see cref="ExtSymlink"/> for how link targets are returned.
/// </summary>
public sealed partial class ExtFileSystem : IFileSystem, ISymlinkReader, IFileAllocationMap, IReportsUnshownEntries, INodePlacement
{
    public const long RootInode = 2;

    private readonly ExtVolume _vol;
    /// <summary>Cache charge per run of a block map and per entry of a parsed directory (the entry with its name).</summary>
    private const long RunBytes = 24, DirectoryEntryBytes = 80;
    /// <summary>Cache charge of a block map's object and its three arrays, whatever its runs.</summary>
    private const long MapObjectBytes = 112;

    private readonly BoundedCache<uint, ExtDataMap> _maps;
    private readonly BoundedCache<uint, ExtDirectory> _dirs;
    private readonly Func<ExtInode, ExtDataMap> _mapOf;

    private ExtFileSystem(ExtVolume vol)
    {
        _vol = vol;
        _maps = new(vol.Budget, CacheBudget.PerFileObjectsBytes);
        _dirs = new(vol.Budget);
        _mapOf = GetMap;
    }

    public static IFileSystem Open(IReadAt data, string name, FileSystemOptions options)
    {
        var raw = new byte[ExtSuperblock.Size];
        int n = data.ReadAt(ExtSuperblock.VolumeOffset, raw);
        if (n < ExtSuperblock.Size)
            throw new CorruptDataException($"{name} superblock", ExtSuperblock.VolumeOffset, $"volume of {data.Length} bytes is too small for an ext superblock");
        var sb = ExtSuperblock.Parse(raw, name);
        var vol = new ExtVolume(data, name, sb, options.Cache ?? CacheBudget.Shared);
        var fs = new ExtFileSystem(vol);
        try
        {
            foreach (var w in sb.OpenWarnings(name)) vol.Warnings.Add(w);
            if (sb.BlocksCount > (ulong)(data.Length / sb.BlockSize))
                vol.Warnings.Add($"{name}: the volume ({data.Length} bytes) is shorter than the filesystem ({sb.BlocksCount} blocks of {sb.BlockSize}); files in the missing part cannot be read");
            var root = vol.ReadInode((uint)RootInode);
            if (!root.IsDirectory)
                throw new CorruptDataException($"{name} inode 2", root.Offset, "the root inode is not a directory");
            return fs;
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    public string Kind => _vol.Sb.Kind;

    public string? Label => _vol.Sb.Label;

    public long RootId => RootInode;

    public IReadOnlyList<string> Warnings => _vol.Warnings.Snapshot();

    public FsNode Stat(long id) => ToNode(Inode(id));

    public FsNode? Lookup(long directoryId, string name)
    {
        var dirInode = Inode(directoryId);
        var dir = Directory(dirInode);
        if (!dir.ByName.TryGetValue(name, out int index) && (dir.ByNameIgnoreCase is null || !dir.ByNameIgnoreCase.TryGetValue(name, out index)))
            return null;
        var entry = dir.Entries[index];
        var node = ToNode(_vol.ReadInode(entry.Inode));
        return node;
    }

    public IEnumerable<FsDirEntry> List(long directoryId)
    {
        var dirInode = Inode(directoryId);
        var dir = Directory(dirInode);
        var result = new FsDirEntry[dir.Entries.Length];
        for (int i = 0; i < result.Length; i++)
        {
            var e = dir.Entries[i];
            FsNode node;
            try
            {
                node = ToNode(_vol.ReadInode(e.Inode));
            }
            catch (CorruptDataException ex)
            {
                // one damaged inode must not hide its siblings: list it as "other" and say why
                _vol.Warnings.Add(ex.Message);
                node = new FsNode { Id = e.Inode, Type = FsNodeType.Other, Size = 0 };
            }
            result[i] = new FsDirEntry(e.Name, node);
        }
        return result;
    }

    public IReadOnlyList<UnshownEntry> UnshownEntries(long directoryId) => Directory(Inode(directoryId)).Unshown;

    public int Read(long id, long offset, Span<byte> destination)
    {
        var inode = Inode(id);
        if (inode.Type != ExtInode.TypeFile)
            throw new FileReadException($"{_vol.Name} inode {id}", inode.IsDirectory ? "is a directory" : "is not a regular file");
        if (inode.Has(ExtInode.FlagEncrypt))
            throw new FileReadException($"{_vol.Name} inode {id}", "file contents are encrypted (fscrypt); the key is not available");
        if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset));
        if (offset >= inode.Size || destination.IsEmpty) return 0;
        int total = (int)Math.Min(destination.Length, inode.Size - offset);
        destination = destination[..total];

        if (inode.Has(ExtInode.FlagInlineData))
        {
            ReadInline(inode, offset, destination);
            return total;
        }

        var map = GetMap(inode);
        int bs = _vol.BlockSize;
        long pos = offset;
        int done = 0;
        while (done < total)
        {
            long logical = pos / bs;
            int within = (int)(pos % bs);
            long? physical = map.Map(logical, out long count);
            long runBytes = count == long.MaxValue ? long.MaxValue : count * bs - within;
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
        if (inode.Type != ExtInode.TypeSymlink)
            throw new FileReadException($"{_vol.Name} inode {id}", "is not a symlink");
        if (inode.Has(ExtInode.FlagEncrypt))
            throw new FileReadException($"{_vol.Name} inode {id}", "symlink target is encrypted (fscrypt); the key is not available");
        return ExtNames.DecodeTarget(ExtSymlink.ReadTarget(_vol, inode, _mapOf));
    }

    public void Dispose()
    {
        _maps.Dispose();
        _dirs.Dispose();
        _vol.Dispose();
    }

    private ExtInode Inode(long id)
    {
        if (id < 1 || id > _vol.Sb.InodesCount)
            throw new CorruptDataException($"{_vol.Name} inode {id}", 0, $"inode number out of range (1 .. {_vol.Sb.InodesCount})");
        return _vol.ReadInode((uint)id);
    }

    private ExtDataMap GetMap(ExtInode inode)
    {
        if (_maps.TryGet(inode.Number, out var map)) return map;
        map = inode.Has(ExtInode.FlagExtents) ? ExtExtentTree.Build(_vol, inode) : ExtBlockMap.Build(_vol, inode);
        return _maps.Add(inode.Number, map, MapObjectBytes + map.RunCount * RunBytes);
    }

    private ExtDirectory Directory(ExtInode inode)
    {
        if (!inode.IsDirectory)
            throw new FileReadException($"{_vol.Name} inode {inode.Number}", "is not a directory");
        if (inode.Has(ExtInode.FlagEncrypt))
            throw new FileReadException($"{_vol.Name} directory inode {inode.Number}",
                "directory is encrypted (fscrypt): its names cannot be decoded without the key");
        if (_dirs.TryGet(inode.Number, out var dir)) return dir;
        dir = ExtDirectoryReader.Read(_vol, inode, _mapOf);
        return _dirs.Add(inode.Number, dir, (dir.Entries.Length + 1) * DirectoryEntryBytes);
    }

    private void ReadInline(ExtInode inode, long offset, Span<byte> destination)
    {
        var extra = ExtInlineData.SystemData(_vol, inode);
        if (inode.Size > ExtInode.BlockLength + extra.Length)
            throw new CorruptDataException($"{_vol.Name} inode {inode.Number} inline data", inode.Offset,
                $"size {inode.Size} larger than the {ExtInode.BlockLength + extra.Length} inline bytes");
        int done = 0;
        long pos = offset;
        if (pos < ExtInode.BlockLength)
        {
            int n = (int)Math.Min(destination.Length, ExtInode.BlockLength - pos);
            inode.Block.AsSpan((int)pos, n).CopyTo(destination);
            done += n;
            pos += n;
        }
        if (done < destination.Length)
            extra.Slice((int)(pos - ExtInode.BlockLength), destination.Length - done).CopyTo(destination[done..]);
    }

    private FsNode ToNode(ExtInode inode)
    {
        var type = inode.NodeType;
        long size = type is FsNodeType.File or FsNodeType.Directory or FsNodeType.Symlink ? inode.Size : 0;
        return new FsNode
        {
            Id = inode.Number,
            Type = type,
            Size = size,
            Links = inode.Links,
            Mode = (uint)(inode.Mode & 0xFFF),
            Uid = inode.Uid,
            Gid = inode.Gid,
            Created = inode.Created,
            Modified = inode.Modified,
            Changed = inode.Changed,
            Accessed = inode.Accessed,
            Attributes = inode.Has(ExtInode.FlagEncrypt) ? FsAttributes.Encrypted : FsAttributes.None,
            DeviceNumber = type == FsNodeType.Device ? inode.DeviceNumber : 0,
            IsBlockDevice = inode.Type == ExtInode.TypeBlock,
            AllocatedSize = (long)Math.Min(inode.AllocatedBytes, long.MaxValue),
        };
    }
}
