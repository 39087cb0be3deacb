using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>One $I30 index entry: the file it names, its $FILE_NAME key, and the child node left of it.</summary>
internal sealed record NtfsIndexEntry(ulong FileReference, NtfsFileName? Key, long SubnodeVcn, bool IsLast)
{
    private const int ReferenceOffset = 0;
    private const int LengthOffset = 8;
    private const int KeyLengthOffset = 10;
    private const int FlagsOffset = 12;
    private const int KeyOffset = 16;
    private const int FlagHasSubnode = 0x01;
    private const int FlagLast = 0x02;
    public const long NoSubnode = -1;

    public bool HasSubnode => SubnodeVcn != NoSubnode;
}

/// <summary>A B-tree node (the $INDEX_ROOT's or one INDX block's): entries in collation order, the last one keyless.</summary>
internal sealed record NtfsIndexNode(IReadOnlyList<NtfsIndexEntry> Entries)
{
    private const int FirstEntryOffset = 0;
    private const int BytesInUseOffset = 4;
    public const int HeaderSize = 16;

    /// <summary>Parses the entries following an index node header at <paramref name="headerOffset"/> of <paramref name="b"/>.</summary>
    public static NtfsIndexNode Parse(ReadOnlySpan<byte> b, int headerOffset, string where, long volumeOffset)
    {
        if (headerOffset + HeaderSize > b.Length) throw new CorruptDataException(where, volumeOffset + headerOffset, "index node header runs past the block");
        long first = BinaryPrimitives.ReadUInt32LittleEndian(b[(headerOffset + FirstEntryOffset)..]);
        long used = BinaryPrimitives.ReadUInt32LittleEndian(b[(headerOffset + BytesInUseOffset)..]);
        if (first < HeaderSize || used > b.Length - headerOffset || first > used)
            throw new CorruptDataException(where, volumeOffset + headerOffset, $"index node header (first entry {first}, in use {used}) is out of range");
        int end = headerOffset + (int)used;
        int p = headerOffset + (int)first;
        var entries = new List<NtfsIndexEntry>();
        // Each entry is at least 16 bytes, so this loop is bounded by the node size.
        while (true)
        {
            if (p + 16 > end) throw new CorruptDataException(where, volumeOffset + p, "index entries run past the node without a last entry");
            int len = BinaryPrimitives.ReadUInt16LittleEndian(b[(p + 8)..]);
            int keyLen = BinaryPrimitives.ReadUInt16LittleEndian(b[(p + 10)..]);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(b[(p + 12)..]);
            bool hasSub = (flags & 0x01) != 0;
            bool last = (flags & 0x02) != 0;
            if (len < 16 || (len & 7) != 0 || len > end - p || (hasSub && len < 24) || 16 + keyLen > len - (hasSub ? 8 : 0))
                throw new CorruptDataException(where, volumeOffset + p, $"index entry length {len} (key {keyLen}) is invalid");
            long sub = NtfsIndexEntry.NoSubnode;
            if (hasSub)
            {
                sub = BinaryPrimitives.ReadInt64LittleEndian(b[(p + len - 8)..]);
                if (sub < 0 || sub > int.MaxValue) throw new CorruptDataException(where, volumeOffset + p + len - 8, $"sub-node VCN {sub} is out of range");
            }
            NtfsFileName? key = null;
            if (!last)
            {
                if (keyLen == 0) throw new CorruptDataException(where, volumeOffset + p, "index entry without a key");
                key = NtfsFileName.Parse(b.Slice(p + 16, keyLen), where, volumeOffset + p + 16);
            }
            entries.Add(new NtfsIndexEntry(BinaryPrimitives.ReadUInt64LittleEndian(b[p..]), key, sub, last));
            if (last) break;
            p += len;
        }
        return new NtfsIndexNode(entries);
    }
}
