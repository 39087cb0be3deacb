using System.Buffers.Binary;

namespace VmdkMount.Core.FileSystems.Ext;

public sealed partial class ExtFileSystem
{
    /// <summary>Slots of i_block that point to indirect blocks in a block-mapped inode (after the 12 direct ones).</summary>
    private const int FirstIndirectSlot = 12, BlockSlots = 15;

    /// <summary>Where the depth of an extent tree sits in its header (the header starts i_block).</summary>
    private const int ExtentDepthOffset = 6;

    /// <summary>
    /// The inode's record in its table and the data blocks its map names. The map itself must live in the inode (an
    /// extent tree of depth 0, or a block map with direct blocks only): the index blocks of a deeper map are not
    /// listed, so such a node answers false. An extended-attribute block (inline data may continue there) too.
    /// </summary>
    public bool TryPlacement(long id, List<(long Offset, long Length)> ranges)
    {
        var inode = Inode(id);
        ranges.Add((inode.Offset, _vol.Sb.InodeSize));
        if (inode.Has(ExtInode.FlagInlineData)) return inode.FileAcl == 0;
        if (inode.Type is not (ExtInode.TypeFile or ExtInode.TypeDir or ExtInode.TypeSymlink)) return true;
        // A fast symlink keeps its target in i_block, where a map would be read as block numbers.
        if (inode.Type == ExtInode.TypeSymlink && inode.Size < ExtInode.BlockLength) return inode.AllocatedBytes == 0;
        if (inode.Has(ExtInode.FlagExtents))
        {
            if (BinaryPrimitives.ReadUInt16LittleEndian(inode.Block.AsSpan(ExtentDepthOffset)) != 0) return false;
        }
        else
        {
            for (int slot = FirstIndirectSlot; slot < BlockSlots; slot++)
                if (BinaryPrimitives.ReadUInt32LittleEndian(inode.Block.AsSpan(slot * 4)) != 0) return false;
        }
        long bs = _vol.BlockSize;
        foreach (var (physical, count) in GetMap(inode).PhysicalRuns()) ranges.Add((physical * bs, count * bs));
        return true;
    }
}
