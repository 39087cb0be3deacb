using System.Buffers.Binary;
using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems.Ext;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>
/// Directory blocks (D = blocksize &lt;&lt; dirblklog bytes) read through a directory's extent map, one fs block at a
/// time where the block is spread over several extents, then checked once and cached: the magic must be one of the
/// directory family, and on v5 the CRC, the block's own sector, the owner inode and the UUID must match (xfs.md §5.4,
/// §5.6). Data blocks carry their magic as BE32 at 0 and CRC at 4; the DA family (leaf, node) as BE16 at 8, CRC at 12.
/// </summary>
internal sealed class XfsDirectoryBlocks : IDisposable
{
    public const uint BlockMagicV4 = 0x58443242, BlockMagicV5 = 0x58444233;   // XD2B / XDB3
    public const uint DataMagicV4 = 0x58443244, DataMagicV5 = 0x58444433;     // XD2D / XDD3
    public const uint FreeMagicV4 = 0x58443246, FreeMagicV5 = 0x58444633;     // XD2F / XDF3
    public const ushort Leaf1MagicV4 = 0xD2F1, Leaf1MagicV5 = 0x3DF1;
    public const ushort LeafNMagicV4 = 0xD2FF, LeafNMagicV5 = 0x3DFF;
    public const ushort NodeMagicV4 = 0xFEBE, NodeMagicV5 = 0x3EBE;
    public const int DaMagicOffset = 8;

    private const int DataCrcOffset = 4, DataBlknoOffset = 8, DataUuidOffset = 24, DataOwnerOffset = 40;
    private const int DaCrcOffset = 12, DaBlknoOffset = 16, DaUuidOffset = 32, DaOwnerOffset = 48;

    private readonly XfsVolume _vol;
    private readonly BoundedCache<(ulong Ino, long Dablk), byte[]> _cache;

    public XfsDirectoryBlocks(XfsVolume vol)
    {
        _vol = vol;
        _cache = new(vol.Budget);
        DirBlockSize = vol.Sb.DirBlockSize;
        FsBlocksPerDirBlock = 1 << vol.Sb.DirBlockLog;
        // The three 32 GiB regions of a directory's address space, in fs blocks (xfs.md §5.1).
        LeafStart = (1L << 35) >> vol.Sb.BlockLog;
        FreeStart = 2 * LeafStart;
    }

    public int DirBlockSize { get; }
    public int FsBlocksPerDirBlock { get; }
    public long LeafStart { get; }
    public long FreeStart { get; }

    /// <summary>Whether <paramref name="magic"/> (BE32 at 0) starts a data or single-block directory block.</summary>
    public bool IsDataMagic(uint magic) => _vol.Sb.HasCrc ? magic is DataMagicV5 or BlockMagicV5 : magic is DataMagicV4 or BlockMagicV4;

    public bool IsBlockMagic(uint magic) => magic == (_vol.Sb.HasCrc ? BlockMagicV5 : BlockMagicV4);

    /// <summary>The verified directory block at fs-block offset <paramref name="dablk"/> of directory <paramref name="dir"/>; never modify it.</summary>
    public byte[] Read(XfsInode dir, ExtDataMap map, long dablk)
    {
        if (_cache.TryGet((dir.Number, dablk), out var cached)) return cached;
        string what = $"directory inode {dir.Number} block {dablk}";
        int bs = _vol.BlockSize;
        var block = new byte[DirBlockSize];
        long firstByte = -1;
        for (int j = 0; j < FsBlocksPerDirBlock;)
        {
            long? physical = map.Map(dablk + j, out long run);
            if (physical is null || physical == ExtDataMap.Unwritten)
                throw new CorruptDataException($"{_vol.Name} {what}", dir.DataForkByteOffset, $"part {j} of the directory block is not mapped (hole or unwritten extent)");
            int take = (int)Math.Min(run, FsBlocksPerDirBlock - j);
            long at = physical.Value * bs;
            if (j == 0) firstByte = at;
            _vol.ReadExactly(at, block.AsSpan(j * bs, take * bs), what);
            j += take;
        }
        Verify(dir, block, firstByte, what);
        return _cache.Add((dir.Number, dablk), block, block.Length);
    }

    private void Verify(XfsInode dir, byte[] block, long at, string what)
    {
        uint magic32 = BinaryPrimitives.ReadUInt32BigEndian(block);
        ushort magic16 = BinaryPrimitives.ReadUInt16BigEndian(block.AsSpan(DaMagicOffset));
        bool v5 = _vol.Sb.HasCrc;
        bool data = IsDataMagic(magic32) || magic32 == (v5 ? FreeMagicV5 : FreeMagicV4);
        bool da = v5 ? magic16 is Leaf1MagicV5 or LeafNMagicV5 or NodeMagicV5 : magic16 is Leaf1MagicV4 or LeafNMagicV4 or NodeMagicV4;
        if (!data && !da)
            throw new CorruptDataException($"{_vol.Name} {what}", at, $"bad directory block magic 0x{magic32:X8} (0x{magic16:X4} at 8): not a directory block");
        if (!v5) return;
        if (data)
        {
            _vol.CheckCrc(block, DataCrcOffset, at, what);
            _vol.CheckSelf(block, at, DataBlknoOffset, DataUuidOffset, DataOwnerOffset, dir.Number, what);
        }
        else
        {
            _vol.CheckCrc(block, DaCrcOffset, at, what);
            _vol.CheckSelf(block, at, DaBlknoOffset, DaUuidOffset, DaOwnerOffset, dir.Number, what);
        }
    }

    public void Dispose() => _cache.Dispose();
}
