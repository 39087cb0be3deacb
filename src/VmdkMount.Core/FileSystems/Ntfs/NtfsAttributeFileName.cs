using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>The $FILE_NAME value (also the key of every $I30 index entry). Sizes and times in it are snapshots.</summary>
internal sealed record NtfsFileName(ulong ParentReference, long Created, long Modified, long Changed, long Accessed,
    uint FileAttributes, byte Namespace, string Name)
{
    private const int ParentOffset = 0;
    private const int CreatedOffset = 8;
    private const int ModifiedOffset = 16;
    private const int ChangedOffset = 24;
    private const int AccessedOffset = 32;
    private const int FlagsOffset = 56;
    private const int NameLengthOffset = 64;
    private const int NamespaceOffset = 65;
    public const int NameOffset = 66;

    public const byte NamespacePosix = 0;
    public const byte NamespaceWin32 = 1;
    public const byte NamespaceDos = 2;
    public const byte NamespaceWin32AndDos = 3;

    public bool IsDosOnly => Namespace == NamespaceDos;
    public long ParentRecord => NtfsFileReference.Record(ParentReference);

    public static NtfsFileName Parse(ReadOnlySpan<byte> v, string where, long offset)
    {
        if (v.Length < NameOffset) throw new CorruptDataException(where, offset, $"$FILE_NAME of {v.Length} bytes is too short");
        int len = v[NameLengthOffset];
        if (NameOffset + 2 * len > v.Length) throw new CorruptDataException(where, offset + NameLengthOffset, $"$FILE_NAME name of {len} units runs past the value");
        return new NtfsFileName(
            BinaryPrimitives.ReadUInt64LittleEndian(v[ParentOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(v[CreatedOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(v[ModifiedOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(v[ChangedOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(v[AccessedOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(v[FlagsOffset..]),
            v[NamespaceOffset],
            new string(MemoryMarshal.Cast<byte, char>(v.Slice(NameOffset, 2 * len))));
    }
}
