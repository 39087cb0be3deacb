using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>One $ATTRIBUTE_LIST entry: which record holds which piece of which attribute.</summary>
internal readonly record struct NtfsAttributeListEntry(uint Type, string Name, long LowestVcn, ulong Reference, ushort Instance)
{
    public long RecordNumber => NtfsFileReference.Record(Reference);
}

internal static class NtfsAttributeList
{
    private const int TypeOffset = 0;
    private const int LengthOffset = 4;
    private const int NameLengthOffset = 6;
    private const int NameOffsetOffset = 7;
    private const int LowestVcnOffset = 8;
    private const int ReferenceOffset = 16;
    private const int InstanceOffset = 24;
    private const int MinimumEntrySize = 26;
    /// <summary>Cap for a list's value: 64 KiB records of 1 KiB extension entries come nowhere near this.</summary>
    public const int MaxSize = 16 * 1024 * 1024;

    public static List<NtfsAttributeListEntry> Parse(ReadOnlySpan<byte> b, string where, long offset)
    {
        var list = new List<NtfsAttributeListEntry>();
        int p = 0;
        while (p + MinimumEntrySize <= b.Length)
        {
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(b[(p + TypeOffset)..]);
            int len = BinaryPrimitives.ReadUInt16LittleEndian(b[(p + LengthOffset)..]);
            if (type == NtfsAttributeType.End || (type == 0 && len == 0)) break;
            if (len < MinimumEntrySize || len > b.Length - p)
                throw new CorruptDataException(where, offset + p, $"attribute list entry length {len} is invalid");
            int nameLen = b[p + NameLengthOffset];
            int nameOff = b[p + NameOffsetOffset];
            if (nameLen > 0 && nameOff + 2 * nameLen > len)
                throw new CorruptDataException(where, offset + p, "attribute list entry name lies outside the entry");
            string name = nameLen == 0 ? "" : new string(MemoryMarshal.Cast<byte, char>(b.Slice(p + nameOff, 2 * nameLen)));
            long lowest = BinaryPrimitives.ReadInt64LittleEndian(b[(p + LowestVcnOffset)..]);
            if (lowest < 0) throw new CorruptDataException(where, offset + p + LowestVcnOffset, $"attribute list entry lowest VCN {lowest} is negative");
            list.Add(new NtfsAttributeListEntry(type, name, lowest,
                BinaryPrimitives.ReadUInt64LittleEndian(b[(p + ReferenceOffset)..]),
                BinaryPrimitives.ReadUInt16LittleEndian(b[(p + InstanceOffset)..])));
            p += len;
        }
        return list;
    }
}
