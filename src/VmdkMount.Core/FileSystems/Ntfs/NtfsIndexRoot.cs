using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>$INDEX_ROOT (always resident): the index's block size and the B-tree's root node.</summary>
internal sealed record NtfsIndexRoot(uint IndexedType, int BlockSize, NtfsIndexNode Root)
{
    private const int IndexedTypeOffset = 0;
    private const int BlockSizeOffset = 8;
    private const int NodeHeaderOffset = 16;

    public static NtfsIndexRoot Parse(ReadOnlySpan<byte> v, string where, long offset)
    {
        if (v.Length < NodeHeaderOffset + NtfsIndexNode.HeaderSize) throw new CorruptDataException(where, offset, "$INDEX_ROOT is too short");
        int blockSize = BinaryPrimitives.ReadInt32LittleEndian(v[BlockSizeOffset..]);
        if (blockSize is < 512 or > 65536 || (blockSize & (blockSize - 1)) != 0)
            throw new CorruptDataException(where, offset + BlockSizeOffset, $"index block size {blockSize} is not a power of two in 512..65536");
        return new NtfsIndexRoot(BinaryPrimitives.ReadUInt32LittleEndian(v[IndexedTypeOffset..]), blockSize,
            NtfsIndexNode.Parse(v, NodeHeaderOffset, where, offset));
    }
}
