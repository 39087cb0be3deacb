using System.Buffers.Binary;
using System.Text;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>
/// $EA entries (OS/2-style extended attributes): u32 offset of the next entry, u8 flags, u8 name length, u16 value
/// length, ASCII name, NUL, value. WSL keeps Linux metadata here ($LXUID, $LXGID, $LXMOD, $LXDEV).
/// </summary>
internal static class NtfsExtendedAttributes
{
    private const int NextOffset = 0;
    private const int NameLengthOffset = 5;
    private const int ValueLengthOffset = 6;
    private const int NameOffset = 8;
    public const int MaxSize = 65536;

    public static Dictionary<string, byte[]> Parse(ReadOnlySpan<byte> b, string where, long offset)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        int p = 0;
        while (p + NameOffset <= b.Length)
        {
            int next = BinaryPrimitives.ReadInt32LittleEndian(b[(p + NextOffset)..]);
            int nameLen = b[p + NameLengthOffset];
            int valueLen = BinaryPrimitives.ReadUInt16LittleEndian(b[(p + ValueLengthOffset)..]);
            int valueAt = p + NameOffset + nameLen + 1;
            if (valueAt + valueLen > b.Length) throw new CorruptDataException(where, offset + p, "extended attribute runs past $EA");
            result.TryAdd(Encoding.ASCII.GetString(b.Slice(p + NameOffset, nameLen)), b.Slice(valueAt, valueLen).ToArray());
            if (next <= 0) break;
            if (next > b.Length - p) throw new CorruptDataException(where, offset + p, $"next extended attribute offset {next} is out of range");
            p += next;
        }
        return result;
    }

    /// <summary>WSL device number ($LXDEV: u32 major, u32 minor) in Linux makedev encoding, 0 when absent.</summary>
    public static ulong LinuxDevice(Dictionary<string, byte[]> eas)
    {
        if (!eas.TryGetValue("$LXDEV", out var v) || v.Length < 8) return 0;
        return NtfsInterix.MakeDev(BinaryPrimitives.ReadUInt32LittleEndian(v), BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(4)));
    }
}
