using System.Buffers.Binary;
using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems.Ext;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>
/// What every XFS structure reader shares: address arithmetic (packed fsb and inode numbers to byte offsets,
/// xfs.md §1.8, checked against the AG they name), bounds-checked reads, the inode cache and the warning list.
/// Thread-safe: the caches are the only mutable state.
/// </summary>
internal sealed class XfsVolume : IDisposable
{
    /// <summary>What a parsed inode costs in the cache: the object and its copied literal area.</summary>
    private const long InodeOverheadBytes = 160;

    private readonly BoundedCache<ulong, XfsInode> _inodes;
    /// <summary>
    /// Whole fs blocks of inode chunks, so listing a directory of new files (allocated together, 64 to a chunk) costs
    /// one read per block rather than per inode. Never modify a cached array.
    /// </summary>
    private readonly BoundedCache<long, byte[]> _inodeBlocks;

    public XfsVolume(IReadAt data, string name, XfsSuperblock sb, CacheBudget budget)
    {
        Data = data;
        Name = name;
        Sb = sb;
        Budget = budget;
        _inodes = new(budget, CacheBudget.PerFileObjectsBytes);
        _inodeBlocks = new(budget);
        InodeAgShift = sb.AgBlockLog + sb.InodesPerBlockLog;
    }

    public IReadAt Data { get; }
    public string Name { get; }
    public XfsSuperblock Sb { get; }
    public CacheBudget Budget { get; }
    public ExtWarnings Warnings { get; } = new();
    public int BlockSize => Sb.BlockSize;
    private int InodeAgShift { get; }

    /// <summary>
    /// Byte offset of the first of <paramref name="count"/> blocks at packed block number <paramref name="fsb"/>; the
    /// run must lie inside one AG (extents never cross an AG). Throws naming <paramref name="what"/> otherwise.
    /// </summary>
    public long FsbToByte(ulong fsb, ulong count, string what, long referencedAt)
    {
        ulong agno = fsb >> Sb.AgBlockLog;
        ulong agbno = fsb & ((1UL << Sb.AgBlockLog) - 1);
        if (agno >= Sb.AgCount || count == 0 || agbno + count > Sb.AgLength((uint)agno) || agbno + count < agbno)
            throw new CorruptDataException($"{Name} {what}", referencedAt,
                $"block {fsb} (AG {agno}, block {agbno}) + {count} lies outside the filesystem's AGs ({Sb.AgCount} AGs of {Sb.AgBlocks} blocks)");
        return checked((long)((agno * Sb.AgBlocks + agbno) * (ulong)Sb.BlockSize));
    }

    /// <summary>Linear block index (byte offset / block size) of a packed block number; see <see cref="FsbToByte"/>.</summary>
    public long FsbToLinear(ulong fsb, ulong count, string what, long referencedAt) => FsbToByte(fsb, count, what, referencedAt) >> Sb.BlockLog;

    /// <summary>Byte offset of inode <paramref name="ino"/>, or a <see cref="CorruptDataException"/> if it names no inode slot.</summary>
    public long InodeOffset(ulong ino, string referencedBy, long referencedAt)
    {
        ulong agno = ino >> InodeAgShift;
        ulong agino = ino & ((1UL << InodeAgShift) - 1);
        ulong agbno = agino >> Sb.InodesPerBlockLog;
        ulong slot = agino & ((1UL << Sb.InodesPerBlockLog) - 1);
        if (agno >= Sb.AgCount || agbno >= Sb.AgLength((uint)agno) || agbno == 0)
            throw new CorruptDataException($"{Name} {referencedBy}", referencedAt, $"inode number {ino} (AG {agno}, block {agbno}) lies outside the filesystem's AGs");
        return checked((long)((agno * Sb.AgBlocks + agbno) * (ulong)Sb.BlockSize + slot * (ulong)Sb.InodeSize));
    }

    public XfsInode ReadInode(ulong ino, string referencedBy = "inode", long referencedAt = 0)
    {
        if (_inodes.TryGet(ino, out var cached)) return cached;
        long offset = InodeOffset(ino, referencedBy == "inode" ? $"inode {ino}" : referencedBy, referencedAt);
        long blockAt = offset & ~(long)(Sb.BlockSize - 1);
        if (!_inodeBlocks.TryGet(blockAt, out var block))
        {
            block = new byte[Sb.BlockSize];
            ReadExactly(blockAt, block, $"inode {ino}");
            block = _inodeBlocks.Add(blockAt, block, block.Length);
        }
        var inode = XfsInode.Parse(this, ino, block.AsSpan((int)(offset - blockAt), Sb.InodeSize), offset);
        return _inodes.Add(ino, inode, InodeOverheadBytes + Sb.InodeSize);
    }

    /// <summary>Reads exactly, building a message only when the volume is cut short (no allocation per read).</summary>
    public void ReadExactly(long offset, Span<byte> destination, string what) =>
        VolumeReads.ReadExactly(Data, Name, offset, destination, what);

    /// <summary>The same for file data, where the message names the inode and is built only on failure.</summary>
    public void ReadFileData(long offset, Span<byte> destination, ulong ino) =>
        VolumeReads.ReadFileData(Data, Name, offset, destination, ino);

    /// <summary>
    /// The v5 self-description every metadata block carries besides its CRC: the daddr it was written at, the owner
    /// it belongs to and the filesystem's metadata UUID. A block found where another one should be (a misdirected
    /// pointer, a loop) fails here even when its own CRC is right.
    /// </summary>
    public void CheckSelf(ReadOnlySpan<byte> block, long byteOffset, int blknoAt, int uuidAt, int ownerAt, ulong owner, string what)
    {
        ulong blkno = BinaryPrimitives.ReadUInt64BigEndian(block[blknoAt..]);
        if (blkno != (ulong)(byteOffset >> 9))
            throw new CorruptDataException($"{Name} {what}", byteOffset + blknoAt, $"block says it lives at sector {blkno}, but was read at sector {byteOffset >> 9}");
        if (!block.Slice(uuidAt, 16).SequenceEqual(Sb.MetadataUuidBytes))
            throw new CorruptDataException($"{Name} {what}", byteOffset + uuidAt, "block belongs to another filesystem (UUID differs)");
        ulong stored = ownerAt >= 0 ? BinaryPrimitives.ReadUInt64BigEndian(block[ownerAt..]) : owner;
        if (stored != owner)
            throw new CorruptDataException($"{Name} {what}", byteOffset + ownerAt, $"block belongs to inode {stored}, not {owner}");
    }

    public void CheckCrc(ReadOnlySpan<byte> block, int crcOffset, long byteOffset, string what)
    {
        uint stored = XfsCrc.Stored(block, crcOffset), computed = XfsCrc.Compute(block, crcOffset);
        if (stored != computed)
            throw new CorruptDataException($"{Name} {what}", byteOffset + crcOffset,
                $"CRC mismatch over {block.Length} bytes (stored 0x{stored:X8}, computed 0x{computed:X8})");
    }

    public void Dispose()
    {
        _inodes.Dispose();
        _inodeBlocks.Dispose();
    }
}
