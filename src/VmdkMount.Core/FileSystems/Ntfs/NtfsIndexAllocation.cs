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
        if (!block.AsSpan(0, 4).SequenceEqual(IndxMagic)) throw new CorruptDataException(w, offset, "missing 'INDX' signature");
        NtfsFixups.Apply(block, w, offset);
        long vcn = BinaryPrimitives.ReadInt64LittleEndian(block.AsSpan(VcnOffset));
        if (vcn != subnodeVcn) throw new CorruptDataException(w, offset + VcnOffset, $"block says it is VCN {vcn}");
        return NtfsIndexNode.Parse(block, NodeHeaderOffset, w, offset);
    }
}
