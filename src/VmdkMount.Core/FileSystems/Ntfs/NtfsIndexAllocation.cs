using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// INDX blocks of an $INDEX_ALLOCATION stream. A sub-node VCN counts clusters when blocks are at least a cluster,
/// else 512-byte units (64 KiB clusters with 4 KiB blocks: VCN 0, 8, 16 ...).
/// </summary>
internal static class NtfsIndexAllocation
{
    private const int VcnOffset = 16;
    private const int NodeHeaderOffset = 24;
    private static ReadOnlySpan<byte> IndxMagic => "INDX"u8;
    private const int SmallBlockUnit = 512;

    /// <summary>The INDX header up to the node header, and the node header itself (16 bytes).</summary>
    private const int MinimumBlock = NodeHeaderOffset + 16;

    public static long BlockOffset(long subnodeVcn, int blockSize, int clusterSize) =>
        subnodeVcn * (blockSize >= clusterSize ? clusterSize : SmallBlockUnit);

    public static NtfsIndexNode ReadNode(NtfsDataStream allocation, long subnodeVcn, int blockSize, int clusterSize, string where)
    {
        long offset = BlockOffset(subnodeVcn, blockSize, clusterSize);
        if (offset < 0 || offset > allocation.Length - blockSize)
            throw new CorruptDataException(where, offset, $"sub-node VCN {subnodeVcn} lies outside $INDEX_ALLOCATION ({allocation.Length} bytes)");
        var block = new byte[blockSize];
        if (allocation.Read(offset, block) != blockSize) throw new CorruptDataException(where, offset, "INDX block cut short");
        return Parse(block, subnodeVcn, where, offset);
    }

    public static NtfsIndexNode Parse(byte[] block, long subnodeVcn, string where, long offset)
    {
        string w = $"{where} INDX block at VCN {subnodeVcn}";
        // the volume reader's blocks are at least 512 bytes (the index root's block size is checked), but the decoder
        // stands on its own: a block shorter than its headers is named, not read past
        if (block.Length < MinimumBlock) throw new CorruptDataException(w, offset, $"INDX block of {block.Length} bytes is shorter than its headers ({MinimumBlock})");
        if (!block.AsSpan(0, 4).SequenceEqual(IndxMagic)) throw new CorruptDataException(w, offset, "missing 'INDX' signature");
        NtfsFixups.Apply(block, w, offset);
        long vcn = BinaryPrimitives.ReadInt64LittleEndian(block.AsSpan(VcnOffset));
        if (vcn != subnodeVcn) throw new CorruptDataException(w, offset + VcnOffset, $"block says it is VCN {vcn}");
        return NtfsIndexNode.Parse(block, NodeHeaderOffset, w, offset);
    }
}
