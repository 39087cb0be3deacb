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
    private const int MinimumSize = 16;
    private const int SubnodeVcnSize = 8;
    private const uint FlagHasSubnode = 0x01;
    private const uint FlagLast = 0x02;
    public const long NoSubnode = -1;

    public bool HasSubnode => SubnodeVcn != NoSubnode;

    /// <summary>Parses the entry at <paramref name="p"/>; <paramref name="end"/> is the node's end of used bytes.</summary>
    public static NtfsIndexEntry Parse(ReadOnlySpan<byte> b, int p, int end, string where, long volumeOffset, out int length)
    {
        if (p + MinimumSize > end) throw new CorruptDataException(where, volumeOffset + p, "index entries run past the node without a last entry");
        int len = BinaryPrimitives.ReadUInt16LittleEndian(b[(p + LengthOffset)..]);
        int keyLen = BinaryPrimitives.ReadUInt16LittleEndian(b[(p + KeyLengthOffset)..]);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(b[(p + FlagsOffset)..]);
        bool hasSub = (flags & FlagHasSubnode) != 0;
        bool last = (flags & FlagLast) != 0;
        int tail = hasSub ? SubnodeVcnSize : 0;
        if (len < MinimumSize + tail || (len & 7) != 0 || len > end - p || KeyOffset + keyLen > len - tail)
            throw new CorruptDataException(where, volumeOffset + p, $"index entry length {len} (key {keyLen}) is invalid");
        long sub = NoSubnode;
        if (hasSub)
        {
            sub = BinaryPrimitives.ReadInt64LittleEndian(b[(p + len - SubnodeVcnSize)..]);
            if (sub < 0 || sub > int.MaxValue) throw new CorruptDataException(where, volumeOffset + p + len - SubnodeVcnSize, $"sub-node VCN {sub} is out of range");
        }
        NtfsFileName? key = null;
        if (!last)
        {
            if (keyLen == 0) throw new CorruptDataException(where, volumeOffset + p, "index entry without a key");
            key = NtfsFileName.Parse(b.Slice(p + KeyOffset, keyLen), where, volumeOffset + p + KeyOffset);
        }
        length = len;
        return new NtfsIndexEntry(BinaryPrimitives.ReadUInt64LittleEndian(b[(p + ReferenceOffset)..]), key, sub, last);
    }
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
            var e = NtfsIndexEntry.Parse(b, p, end, where, volumeOffset, out int len);
            entries.Add(e);
            if (e.IsLast) break;
            p += len;
        }
        return new NtfsIndexNode(entries);
    }
}
