using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>One inode chunk (64 inodes) from an inode btree record: its first inode, where it lies, its sparse holes and free slots.</summary>
internal readonly record struct XfsInodeChunk(ulong FirstInode, long Offset, ushort HoleMask, ulong FreeMask)
{
    public const int Inodes = 64;
    /// <summary>One holemask bit covers this many inodes (xfs.md §2: 16 bits for 64 inodes).</summary>
    public const int InodesPerHoleBit = 4;

    public bool IsHole(int slot) => (HoleMask & (1 << (slot / InodesPerHoleBit))) != 0;

    public bool IsFree(int slot) => (FreeMask & (1UL << slot)) != 0;
}

/// <summary>
/// What one point's AG headers and AG btrees say about the volume, for the restore-point locator: where the inode
/// chunks are, and the bytes no file owns (AG header sectors, the btrees' own blocks, the AG free list, free extents,
/// the internal log). Read whole, bounded by the AG count and each tree's size.
/// </summary>
internal sealed class XfsAgMaps
{
    private const uint AgfMagic = 0x58414746, AgiMagic = 0x58414749, AgflMagic = 0x5841464C; // XAGF, XAGI, XAFL
    private const int AgfRootsOffset = 16, AgfLevelsOffset = 28, AgfFlFirstOffset = 40, AgfFlLastOffset = 44, AgfFlCountOffset = 48;
    private const int AgfRefcountRootOffset = 88, AgfRefcountLevelOffset = 92, AgfCrcOffset = 216;
    private const int AgiRootOffset = 20, AgiLevelOffset = 24, AgiFreeRootOffset = 328, AgiFreeLevelOffset = 332, AgiCrcOffset = 312;
    private const int AgflHeaderV5 = 36, AgflCrcOffset = 32;
    /// <summary>Superblock, AGF, AGI, AGFL: one sector each at the start of every AG.</summary>
    private const int HeaderSectors = 4;
    public const uint RoCompatFinobt = 0x1, RoCompatRmapbt = 0x2, RoCompatReflink = 0x4;
    /// <summary>More AGs than this are not mapped (each costs a few header reads and its trees).</summary>
    public const uint MaxAgs = 1 << 16;

    public required List<XfsInodeChunk> Chunks { get; init; }
    public required VolumeRangeSet NotFileOwned { get; init; }

    public static XfsAgMaps Read(XfsVolume vol)
    {
        var sb = vol.Sb;
        if (sb.AgCount > MaxAgs) throw new UnsupportedFeatureException($"{vol.Name} AG headers", $"more than {MaxAgs} AGs");
        var chunks = new List<XfsInodeChunk>();
        var notFile = new VolumeRangeSet();
        int bs = vol.BlockSize;
        long headerBytes = ((long)HeaderSectors * sb.SectorSize + bs - 1) / bs * bs;
        if (sb.LogStart != 0) notFile.Add(vol.FsbToByte(sb.LogStart, sb.LogBlocks, "log", 0), (long)sb.LogBlocks * bs);
        var blocks = new List<long>();
        bool sparse = sb.Has(XfsSuperblock.IncompatSpinodes);
        int inodeShift = sb.AgBlockLog + sb.InodesPerBlockLog;
        for (uint agno = 0; agno < sb.AgCount; agno++)
        {
            long agStart = (long)agno * sb.AgBlocks * bs;
            notFile.Add(agStart, headerBytes);
            var agf = Header(vol, agStart + sb.SectorSize, AgfMagic, AgfCrcOffset, $"AG {agno} AGF");
            var agi = Header(vol, agStart + 2L * sb.SectorSize, AgiMagic, AgiCrcOffset, $"AG {agno} AGI");
            uint R(byte[] h, int at) => BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(at));
            blocks.Clear();
            XfsAgBtree.Walk(vol, agno, R(agf, AgfRootsOffset), R(agf, AgfLevelsOffset), XfsAgBtree.FreeByBlock, blocks, (records, count) =>
            {
                for (int i = 0; i < count; i++)
                {
                    uint start = BinaryPrimitives.ReadUInt32BigEndian(records[(i * 8)..]);
                    uint length = BinaryPrimitives.ReadUInt32BigEndian(records[(i * 8 + 4)..]);
                    notFile.Add(agStart + (long)start * bs, (long)length * bs);
                }
            });
            XfsAgBtree.Walk(vol, agno, R(agf, AgfRootsOffset + 4), R(agf, AgfLevelsOffset + 4), XfsAgBtree.FreeBySize, blocks, null);
            if ((sb.RoCompat & RoCompatRmapbt) != 0)
                XfsAgBtree.Walk(vol, agno, R(agf, AgfRootsOffset + 8), R(agf, AgfLevelsOffset + 8), XfsAgBtree.ReverseMap, blocks, null);
            if ((sb.RoCompat & RoCompatReflink) != 0)
                XfsAgBtree.Walk(vol, agno, R(agf, AgfRefcountRootOffset), R(agf, AgfRefcountLevelOffset), XfsAgBtree.RefCounts, blocks, null);
            XfsAgBtree.Walk(vol, agno, R(agi, AgiRootOffset), R(agi, AgiLevelOffset), XfsAgBtree.Inodes, blocks, (records, count) =>
            {
                for (int i = 0; i < count; i++)
                {
                    var r = records.Slice(i * 16, 16);
                    uint agino = BinaryPrimitives.ReadUInt32BigEndian(r);
                    ushort holes = sparse ? BinaryPrimitives.ReadUInt16BigEndian(r[4..]) : (ushort)0;
                    ulong ino = ((ulong)agno << inodeShift) | agino;
                    long offset = vol.InodeOffset(ino, $"AG {agno} inode btree record", 0);
                    chunks.Add(new XfsInodeChunk(ino, offset, holes, BinaryPrimitives.ReadUInt64BigEndian(r[8..])));
                }
            });
            if ((sb.RoCompat & RoCompatFinobt) != 0)
                XfsAgBtree.Walk(vol, agno, R(agi, AgiFreeRootOffset), R(agi, AgiFreeLevelOffset), XfsAgBtree.FreeInodes, blocks, null);
            foreach (long at in blocks) notFile.Add(at, bs);
            // The AG free list: blocks set aside for the btrees to grow into, not in the free-space trees.
            var agfl = Header(vol, agStart + 3L * sb.SectorSize, sb.HasCrc ? AgflMagic : 0, AgflCrcOffset, $"AG {agno} AGFL");
            int first = sb.HasCrc ? AgflHeaderV5 : 0;
            int slots = (agfl.Length - first) / 4;
            uint flFirst = R(agf, AgfFlFirstOffset), flLast = R(agf, AgfFlLastOffset), flCount = R(agf, AgfFlCountOffset);
            if (flCount > slots || flFirst >= slots || flLast >= slots)
                throw new CorruptDataException($"{vol.Name} AG {agno} AGF", agStart + sb.SectorSize, $"free list {flFirst}..{flLast} ({flCount}) does not fit {slots} slots");
            for (uint k = 0; k < flCount; k++)
            {
                uint agbno = R(agfl, first + (int)((flFirst + k) % (uint)slots) * 4);
                if (agbno < sb.AgLength(agno)) notFile.Add(agStart + (long)agbno * bs, bs);
            }
        }
        return new XfsAgMaps { Chunks = chunks, NotFileOwned = notFile };
    }

    /// <summary>One AG header sector, its magic (0: none to check) and on v5 its CRC checked.</summary>
    private static byte[] Header(XfsVolume vol, long at, uint magic, int crcOffset, string what)
    {
        var sector = new byte[vol.Sb.SectorSize];
        vol.ReadExactly(at, sector, what);
        uint m = BinaryPrimitives.ReadUInt32BigEndian(sector);
        if (magic != 0 && m != magic) throw new CorruptDataException($"{vol.Name} {what}", at, $"bad magic 0x{m:X8} (expected 0x{magic:X8})");
        if (vol.Sb.HasCrc && !XfsCrc.Matches(sector, crcOffset)) throw new CorruptDataException($"{vol.Name} {what}", at + crcOffset, "CRC mismatch");
        return sector;
    }
}
