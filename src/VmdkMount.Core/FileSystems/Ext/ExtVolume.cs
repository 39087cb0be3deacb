using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// The metadata access shared by every ext structure reader: bounds-checked block reads through a bounded cache,
/// group descriptor and inode lookup, and the warning list. Thread-safe.
/// </summary>
internal sealed class ExtVolume : IDisposable
{
    /// <summary>What a parsed inode costs in the cache: the object with its 60-byte i_block copy.</summary>
    private const long InodeBytes = 192;

    private readonly BoundedCache<ulong, byte[]> _blocks;
    private readonly BoundedCache<uint, ExtInode> _inodes;
    private readonly ExtGroupDescriptor _descriptors;

    public ExtVolume(IReadAt data, string name, ExtSuperblock sb, CacheBudget budget)
    {
        Budget = budget;
        _blocks = new(budget);
        _inodes = new(budget, CacheBudget.PerFileObjectsBytes);
        Data = data;
        Name = name;
        Sb = sb;
        _descriptors = new ExtGroupDescriptor(sb);
    }

    public IReadAt Data { get; }
    public CacheBudget Budget { get; }
    public string Name { get; }
    public ExtSuperblock Sb { get; }
    public int BlockSize => Sb.BlockSize;
    public ExtWarnings Warnings { get; } = new();

    public long BlockOffset(ulong block) => checked((long)block * Sb.BlockSize);

    /// <summary>A metadata block (descriptor, inode table, indirect, extent node): cached, never modify the array.</summary>
    public byte[] ReadBlock(ulong block, string what, long referencedAt)
    {
        if (block >= Sb.BlocksCount)
            throw new CorruptDataException($"{Name} {what}", referencedAt, $"block {block} is outside the filesystem ({Sb.BlocksCount} blocks)");
        if (_blocks.TryGet(block, out var cached)) return cached;
        var buffer = new byte[Sb.BlockSize];
        ReadExactly(BlockOffset(block), buffer, what);
        return _blocks.Add(block, buffer, buffer.Length);
    }

    /// <summary>Reads exactly, without building a message unless the volume is cut short (no allocation per read).</summary>
    public void ReadExactly(long offset, Span<byte> destination, string what) =>
        VolumeReads.ReadExactly(Data, Name, offset, destination, what);

    /// <summary>Same as <see cref="ReadExactly"/> for the data path, where the message is built only on failure.</summary>
    public void ReadFileData(long offset, Span<byte> destination, uint inode) =>
        VolumeReads.ReadFileData(Data, Name, offset, destination, inode);

    public ExtInode ReadInode(uint number) => ReadInode(number, cacheTableBlock: true);

    /// <summary>
    /// <paramref name="cacheTableBlock"/> false reads only the inode's own record, leaving its inode table block out
    /// of the block cache: for a scan that meets each table block once (the change locator's walk of every folder),
    /// where caching would only allocate a block per inode.
    /// </summary>
    public ExtInode ReadInode(uint number, bool cacheTableBlock)
    {
        if (_inodes.TryGet(number, out var cached)) return cached;
        if (number == 0 || number > Sb.InodesCount)
            throw new CorruptDataException($"{Name} inode {number}", 0, $"inode number out of range (1 .. {Sb.InodesCount})");
        uint group = (number - 1) / Sb.InodesPerGroup;
        uint index = (number - 1) % Sb.InodesPerGroup;
        var (descBlock, descOffset) = _descriptors.Locate(group);
        var descriptors = ReadBlock(descBlock, $"group descriptor block of group {group}", ExtSuperblock.VolumeOffset);
        long descByteOffset = BlockOffset(descBlock) + descOffset;
        var (table, _, descProblem) = _descriptors.Parse(group, descriptors.AsSpan(descOffset, Sb.DescriptorSize), descByteOffset, Name);
        Warnings.Add(descProblem);
        long byteInTable = (long)index * Sb.InodeSize;
        ulong block = table + (ulong)(byteInTable / Sb.BlockSize);
        int within = (int)(byteInTable % Sb.BlockSize);
        long offset = BlockOffset(block) + within;
        ExtInode inode;
        if (cacheTableBlock || _blocks.TryGet(block, out _))
        {
            var tableBlock = ReadBlock(block, $"inode table of group {group}", descByteOffset);
            inode = ExtInode.Parse(Sb, number, tableBlock.AsSpan(within, Sb.InodeSize), offset, Name);
        }
        else
        {
            if (block >= Sb.BlocksCount)
                throw new CorruptDataException($"{Name} inode table of group {group}", descByteOffset, $"block {block} is outside the filesystem ({Sb.BlocksCount} blocks)");
            Span<byte> record = Sb.InodeSize <= MaxStackInode ? stackalloc byte[Sb.InodeSize] : new byte[Sb.InodeSize];
            ReadExactly(offset, record, "inode table");
            inode = ExtInode.Parse(Sb, number, record, offset, Name);
        }
        Warnings.Add(inode.ChecksumProblem);
        return _inodes.Add(number, inode, InodeBytes);
    }

    /// <summary>Inode records up to this size are read onto the stack (ext4 makes 256 bytes; the format allows a block).</summary>
    private const int MaxStackInode = 1024;

    /// <summary>
    /// For `check`: every group descriptor (at most <paramref name="maxGroups"/>) parsed as an inode read would, so its
    /// checksum and inode table location are checked; a problem string per damaged group, and a note when it stops early.
    /// </summary>
    public IEnumerable<(string Structure, string Message)> CheckGroupDescriptors(uint maxGroups, CancellationToken cancel)
    {
        uint groups = Math.Min(Sb.GroupCount, maxGroups);
        for (uint group = 0; group < groups; group++)
        {
            cancel.ThrowIfCancellationRequested();
            string? problem;
            try
            {
                var (descBlock, descOffset) = _descriptors.Locate(group);
                var descriptors = ReadBlock(descBlock, $"group descriptor block of group {group}", ExtSuperblock.VolumeOffset);
                problem = _descriptors.Parse(group, descriptors.AsSpan(descOffset, Sb.DescriptorSize), BlockOffset(descBlock) + descOffset, Name).ChecksumProblem;
            }
            catch (CorruptDataException e)
            {
                problem = e.Message;
            }
            if (problem is not null) yield return ($"group descriptor {group}", problem);
        }
        if (groups < Sb.GroupCount)
            yield return ("group descriptors", $"only the first {groups} of {Sb.GroupCount} groups were checked");
    }

    /// <summary>
    /// One group's layout as its descriptor says (for the change locator): where the descriptor's bytes are, the inode
    /// table, the two bitmaps and the flags.
    /// </summary>
    public ExtGroupLayout GroupLayout(uint group)
    {
        var (descBlock, descOffset) = _descriptors.Locate(group);
        var descriptors = ReadBlock(descBlock, $"group descriptor block of group {group}", ExtSuperblock.VolumeOffset);
        long at = BlockOffset(descBlock) + descOffset;
        var d = descriptors.AsSpan(descOffset, Sb.DescriptorSize);
        var (table, flags, _) = _descriptors.Parse(group, d, at, Name);
        var (blockBitmap, inodeBitmap) = _descriptors.Bitmaps(d);
        return new ExtGroupLayout(at, table, blockBitmap, inodeBitmap, flags);
    }

    /// <summary>Seed of the per-inode checksums of extent blocks and directory blocks (metadata_csum).</summary>
    public uint InodeChecksumSeed(ExtInode inode) =>
        ExtCrc32c.UpdateUInt32(ExtCrc32c.UpdateUInt32(Sb.ChecksumSeed, inode.Number), inode.Generation);

    public void Dispose()
    {
        _blocks.Dispose();
        _inodes.Dispose();
    }
}

/// <summary>Where one block group's structures are: its descriptor's volume byte offset, and block numbers.</summary>
internal readonly record struct ExtGroupLayout(long DescriptorOffset, ulong InodeTable, ulong BlockBitmap, ulong InodeBitmap, ushort Flags);
