using System.Buffers.Binary;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>One FILE record of the $MFT after fixups: header fields and its attribute records in stored order.</summary>
internal sealed class NtfsMftRecord
{
    private const int SequenceOffset = 0x10;
    private const int LinkCountOffset = 0x12;
    private const int FirstAttributeOffset = 0x14;
    private const int FlagsOffset = 0x16;
    private const int BytesUsedOffset = 0x18;
    private const int BytesAllocatedOffset = 0x1C;
    private const int BaseReferenceOffset = 0x20;
    private const int MinimumHeaderSize = 0x2A;
    private static ReadOnlySpan<byte> FileMagic => "FILE"u8;
    /// <summary>An MFT record cannot hold more attributes than this (each is at least 16 bytes; 4 KiB records).</summary>
    private const int MaxAttributes = 4096;

    public const ushort FlagInUse = 0x01;
    public const ushort FlagDirectory = 0x02;
    public const ushort FlagExtend = 0x04;
    public const ushort FlagViewIndex = 0x08;

    public required long Number { get; init; }
    public required ushort Sequence { get; init; }
    public required ushort LinkCount { get; init; }
    public required ushort Flags { get; init; }
    /// <summary>Base record reference (low 48 bits = record number), 0 for base records.</summary>
    public required ulong BaseReference { get; init; }
    public required IReadOnlyList<NtfsAttribute> Attributes { get; init; }

    public bool InUse => (Flags & FlagInUse) != 0;
    public bool IsDirectory => (Flags & FlagDirectory) != 0;
    public long BaseRecordNumber => (long)(BaseReference & NtfsFileReference.RecordMask);

    /// <summary>True when the bytes are an unused slot (all zero) rather than a FILE record.</summary>
    public static bool IsEmptySlot(ReadOnlySpan<byte> b) => b[..4].IndexOfAnyExcept((byte)0) < 0;

    /// <summary>
    /// Applies fixups to <paramref name="buffer"/> (owned by the result afterwards) and parses it.
    /// <paramref name="volumeOffset"/> is where the record starts on the volume (-1 if it straddles runs).
    /// </summary>
    public static NtfsMftRecord Parse(byte[] buffer, long number, long volumeOffset, string volume)
    {
        string where = $"{volume}: MFT record {number}";
        long at = Math.Max(0, volumeOffset);
        if (buffer.Length < NtfsFixups.Stride) throw new CorruptDataException(where, at, $"record of {buffer.Length} bytes is too short");
        if (!buffer.AsSpan(0, 4).SequenceEqual(FileMagic))
            throw new CorruptDataException(where, at, IsEmptySlot(buffer) ? "record is not in use (empty slot)" : "missing 'FILE' signature");
        NtfsFixups.Apply(buffer, where, at);
        var b = buffer.AsSpan();
        int first = BinaryPrimitives.ReadUInt16LittleEndian(b[FirstAttributeOffset..]);
        int used = BinaryPrimitives.ReadInt32LittleEndian(b[BytesUsedOffset..]);
        int allocated = BinaryPrimitives.ReadInt32LittleEndian(b[BytesAllocatedOffset..]);
        if (allocated != buffer.Length && allocated != 0)
            throw new CorruptDataException(where, at + BytesAllocatedOffset, $"record claims {allocated} bytes, the volume's records are {buffer.Length}");
        if (used < MinimumHeaderSize || used > buffer.Length)
            throw new CorruptDataException(where, at + BytesUsedOffset, $"bytes in use {used} out of range");
        if (first < MinimumHeaderSize || first >= used)
            throw new CorruptDataException(where, at + FirstAttributeOffset, $"first attribute offset {first} out of range");
        var attrs = new List<NtfsAttribute>();
        int off = first;
        var memory = new ReadOnlyMemory<byte>(buffer);
        while (true)
        {
            if (attrs.Count >= MaxAttributes) throw new CorruptDataException(where, at + off, "too many attributes");
            var a = NtfsAttribute.Parse(memory, off, used, number, volumeOffset, where, out int len);
            if (a is null) break;
            attrs.Add(a);
            off += len;
            if (off + 4 > used) break; // no end marker before "bytes used": tolerated, nothing more to read
        }
        return new NtfsMftRecord
        {
            Number = number,
            Sequence = BinaryPrimitives.ReadUInt16LittleEndian(b[SequenceOffset..]),
            LinkCount = BinaryPrimitives.ReadUInt16LittleEndian(b[LinkCountOffset..]),
            Flags = BinaryPrimitives.ReadUInt16LittleEndian(b[FlagsOffset..]),
            BaseReference = BinaryPrimitives.ReadUInt64LittleEndian(b[BaseReferenceOffset..]),
            Attributes = attrs,
        };
    }
}

/// <summary>8-byte file reference: low 48 bits record number, high 16 bits sequence number.</summary>
internal static class NtfsFileReference
{
    public const ulong RecordMask = 0x0000_FFFF_FFFF_FFFF;
    public static long Record(ulong reference) => (long)(reference & RecordMask);
    public static ushort Sequence(ulong reference) => (ushort)(reference >> 48);
}
