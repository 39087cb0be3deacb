using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// One attribute record as stored in an MFT record: common header plus either the resident value or the
/// non-resident sizes and runlist. <see cref="Raw"/> is the attribute's bytes inside the (fixed-up) record buffer.
/// </summary>
internal sealed class NtfsAttribute
{
    private const int TypeOffset = 0;
    private const int LengthOffset = 4;
    private const int NonResidentOffset = 8;
    private const int NameLengthOffset = 9;
    private const int NameOffsetOffset = 10;
    private const int FlagsOffset = 12;
    private const int InstanceOffset = 14;
    private const int ResidentValueLengthOffset = 16;
    private const int ResidentValueOffsetOffset = 20;
    private const int LowestVcnOffset = 16;
    private const int HighestVcnOffset = 24;
    private const int RunlistOffsetOffset = 32;
    private const int CompressionUnitOffset = 34;
    private const int AllocatedSizeOffset = 40;
    private const int DataSizeOffset = 48;
    private const int InitializedSizeOffset = 56;
    private const int CompressedSizeOffset = 64;
    public const int HeaderSize = 16;
    private const int ResidentHeaderSize = 24;
    private const int NonResidentHeaderSize = 64;

    public const ushort FlagCompressionMask = 0x00FF;
    public const ushort FlagEncrypted = 0x4000;
    public const ushort FlagSparse = 0x8000;

    public required uint Type { get; init; }
    public required string Name { get; init; }
    public required ushort Flags { get; init; }
    public required ushort Instance { get; init; }
    public required bool NonResident { get; init; }
    /// <summary>The MFT record holding this piece (base or extension record).</summary>
    public required long RecordNumber { get; init; }
    /// <summary>Where the attribute starts on the volume (for error messages), -1 when unknown.</summary>
    public required long VolumeOffset { get; init; }

    public ReadOnlyMemory<byte> Value { get; init; }

    public long LowestVcn { get; init; }
    public long HighestVcn { get; init; }
    public int CompressionUnitExponent { get; init; }
    public long AllocatedSize { get; init; }
    public long DataSize { get; init; }
    public long InitializedSize { get; init; }
    public long? CompressedSize { get; init; }
    public ReadOnlyMemory<byte> Runlist { get; init; }

    public bool IsCompressed => (Flags & FlagCompressionMask) != 0;
    public bool IsEncrypted => (Flags & FlagEncrypted) != 0;
    public bool IsSparse => (Flags & FlagSparse) != 0;

    /// <summary>Parses the attribute at <paramref name="offset"/> of a fixed-up record; returns null at the end marker.</summary>
    public static NtfsAttribute? Parse(ReadOnlyMemory<byte> record, int offset, int usedEnd, long recordNumber, long recordVolumeOffset,
        string where, out int length)
    {
        length = 0;
        var b = record.Span;
        long at = recordVolumeOffset < 0 ? offset : recordVolumeOffset + offset;
        if (offset + 4 > usedEnd) throw new CorruptDataException(where, at, "attribute header runs past the used part of the record");
        uint type = BinaryPrimitives.ReadUInt32LittleEndian(b[(offset + TypeOffset)..]);
        if (type == NtfsAttributeType.End) return null;
        if (offset + HeaderSize > usedEnd) throw new CorruptDataException(where, at, "attribute header runs past the used part of the record");
        int len = BinaryPrimitives.ReadInt32LittleEndian(b[(offset + LengthOffset)..]);
        if (len < HeaderSize || (len & 7) != 0 || len > usedEnd - offset)
            throw new CorruptDataException(where, at + LengthOffset, $"attribute 0x{type:X} has invalid length {len}");
        length = len;
        var a = b.Slice(offset, len);
        bool nonResident = a[NonResidentOffset] != 0;
        int nameLen = a[NameLengthOffset];
        int nameOff = BinaryPrimitives.ReadUInt16LittleEndian(a[NameOffsetOffset..]);
        string name = "";
        if (nameLen > 0)
        {
            if (nameOff + 2 * nameLen > len) throw new CorruptDataException(where, at + NameOffsetOffset, $"attribute 0x{type:X} name lies outside the attribute");
            name = new string(MemoryMarshal.Cast<byte, char>(a.Slice(nameOff, 2 * nameLen)));
        }
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(a[FlagsOffset..]);
        ushort instance = BinaryPrimitives.ReadUInt16LittleEndian(a[InstanceOffset..]);
        string Label() => $"attribute 0x{type:X}{(name.Length > 0 ? " '" + name + "'" : "")}"; // only on error paths
        if (!nonResident)
        {
            if (len < ResidentHeaderSize) throw new CorruptDataException(where, at, $"resident {Label()} is shorter than its header");
            uint vlen = BinaryPrimitives.ReadUInt32LittleEndian(a[ResidentValueLengthOffset..]);
            int voff = BinaryPrimitives.ReadUInt16LittleEndian(a[ResidentValueOffsetOffset..]);
            // A zero-length value may start exactly at the attribute's end (ColinFinck/ntfs #6).
            if (voff > len || vlen > (uint)(len - voff))
                throw new CorruptDataException(where, at + ResidentValueLengthOffset, $"resident {Label()} value ({vlen} bytes at {voff}) lies outside the attribute");
            return new NtfsAttribute
            {
                Type = type, Name = name, Flags = flags, Instance = instance, NonResident = false,
                RecordNumber = recordNumber, VolumeOffset = at,
                Value = record.Slice(offset + voff, (int)vlen),
                DataSize = vlen, InitializedSize = vlen, AllocatedSize = vlen,
            };
        }
        if (len < NonResidentHeaderSize) throw new CorruptDataException(where, at, $"non-resident {Label()} is shorter than its header");
        long lowest = BinaryPrimitives.ReadInt64LittleEndian(a[LowestVcnOffset..]);
        long highest = BinaryPrimitives.ReadInt64LittleEndian(a[HighestVcnOffset..]);
        int runOff = BinaryPrimitives.ReadUInt16LittleEndian(a[RunlistOffsetOffset..]);
        int cu = BinaryPrimitives.ReadUInt16LittleEndian(a[CompressionUnitOffset..]);
        long alloc = BinaryPrimitives.ReadInt64LittleEndian(a[AllocatedSizeOffset..]);
        long size = BinaryPrimitives.ReadInt64LittleEndian(a[DataSizeOffset..]);
        long init = BinaryPrimitives.ReadInt64LittleEndian(a[InitializedSizeOffset..]);
        long? compressed = null;
        if ((flags & (FlagCompressionMask | FlagSparse)) != 0 && len >= NonResidentHeaderSize + 8 && runOff >= NonResidentHeaderSize + 8)
            compressed = BinaryPrimitives.ReadInt64LittleEndian(a[CompressedSizeOffset..]);
        if (lowest < 0 || highest < -1 || (highest >= 0 && highest < lowest) || highest > long.MaxValue / 4 / NtfsBootSector.MaxClusterSize)
            throw new CorruptDataException(where, at + LowestVcnOffset, $"{Label()} VCN range {lowest}..{highest} is invalid");
        if (runOff < NonResidentHeaderSize || runOff > len)
            throw new CorruptDataException(where, at + RunlistOffsetOffset, $"{Label()} runlist offset {runOff} lies outside the attribute");
        if (cu > 16) throw new CorruptDataException(where, at + CompressionUnitOffset, $"{Label()} compression unit exponent {cu} is absurd");
        if (lowest == 0 && (size < 0 || alloc < 0 || init < 0 || (init > size && init > alloc)))
            throw new CorruptDataException(where, at + AllocatedSizeOffset, $"{Label()} sizes (allocated {alloc}, data {size}, initialized {init}) are inconsistent");
        return new NtfsAttribute
        {
            Type = type, Name = name, Flags = flags, Instance = instance, NonResident = true,
            RecordNumber = recordNumber, VolumeOffset = at,
            LowestVcn = lowest, HighestVcn = highest, CompressionUnitExponent = cu,
            AllocatedSize = alloc, DataSize = size, InitializedSize = Math.Min(init, size), CompressedSize = compressed,
            Runlist = record.Slice(offset + runOff, len - runOff),
        };
    }
    /// <summary>Bytes this attribute keeps of its record: the resident value and the runlist.</summary>
    internal int StoredBytes => Value.Length + Runlist.Length;

    /// <summary>
    /// The same attribute with its value and runlist copied into <paramref name="store"/> from <paramref name="at"/>
    /// on, so that a cached file does not keep its whole MFT record alive (1 KiB or more, mostly headers and the
    /// names that are already parsed).
    /// </summary>
    internal NtfsAttribute CopiedInto(byte[] store, ref int at) => new()
    {
        Type = Type, Name = Name, Flags = Flags, Instance = Instance, NonResident = NonResident,
        RecordNumber = RecordNumber, VolumeOffset = VolumeOffset,
        LowestVcn = LowestVcn, HighestVcn = HighestVcn, CompressionUnitExponent = CompressionUnitExponent,
        AllocatedSize = AllocatedSize, DataSize = DataSize, InitializedSize = InitializedSize, CompressedSize = CompressedSize,
        Value = CopyInto(Value, store, ref at),
        Runlist = CopyInto(Runlist, store, ref at),
    };

    private static ReadOnlyMemory<byte> CopyInto(ReadOnlyMemory<byte> bytes, byte[] store, ref int at)
    {
        if (bytes.IsEmpty) return ReadOnlyMemory<byte>.Empty;
        bytes.Span.CopyTo(store.AsSpan(at));
        var copy = new ReadOnlyMemory<byte>(store, at, bytes.Length);
        at += bytes.Length;
        return copy;
    }
}
