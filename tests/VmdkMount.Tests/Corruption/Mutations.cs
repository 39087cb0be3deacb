using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// The seeded mutations of one structure: bit flips, field overwrites with hostile values, a wiped header, and cuts
/// at and inside it. The seed comes from the image and structure names, so a failing case replays alone.
/// </summary>
public static class Mutations
{
    /// <summary>A stable seed (string.GetHashCode is randomized per process).</summary>
    public static int Seed(string text) => BinaryPrimitives.ReadInt32LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <param name="perRegion">Variants per structure: a flip, a field overwrite, a wipe, more flips and fields beyond.</param>
    /// <param name="cut">Also cut the image at the structure's start and in its middle.</param>
    public static IEnumerable<CorruptionCase> Of(string image, IReadAt intact, MetadataRegion region, int perRegion, bool bigEndian, bool cut)
    {
        var rnd = new Random(Seed(image + "|" + region.Structure + "|" + region.Offset));
        var original = new byte[region.Length];
        intact.ReadAt(region.Offset, original);
        for (int k = 0; k < perRegion; k++)
        {
            switch (k % 3)
            {
                case 0:
                {
                    var bytes = (byte[])original.Clone();
                    int flips = 1 + rnd.Next(3);
                    for (int i = 0; i < flips; i++) bytes[rnd.Next(bytes.Length)] ^= (byte)(1 << rnd.Next(8));
                    yield return new CorruptionCase(image, region.Structure, $"flip x{flips} seed {k}", [new Patch(region.Offset, bytes)], null, region.Touch);
                    break;
                }
                case 1:
                {
                    int width = region.Length >= 8 && rnd.Next(4) == 0 ? 8 : region.Length >= 4 ? 4 : region.Length >= 2 ? 2 : 1;
                    int at = rnd.Next(region.Length - width + 1) & ~(width - 1);
                    var value = HostileValue(original.AsSpan(at, width), width, bigEndian, rnd, out string what);
                    yield return new CorruptionCase(image, region.Structure, $"field +{at} := {what}", [new Patch(region.Offset + at, value)], null, region.Touch);
                    break;
                }
                default:
                {
                    int length = Math.Min(region.Length, 16 << rnd.Next(4));
                    yield return new CorruptionCase(image, region.Structure, $"zero {length} bytes", [new Patch(region.Offset, new byte[length])], null, region.Touch);
                    break;
                }
            }
        }
        if (cut)
        {
            yield return new CorruptionCase(image, region.Structure, "cut at start", [], region.Offset, Touch.All);
            yield return new CorruptionCase(image, region.Structure, "cut in middle", [], region.Offset + region.Length / 2, Touch.All);
        }
    }

    /// <summary>The values that break parsers: zero, all ones, the sign bit, off by one, a small count, a random one.</summary>
    private static byte[] HostileValue(ReadOnlySpan<byte> original, int width, bool bigEndian, Random rnd, out string what)
    {
        ulong old = width switch
        {
            1 => original[0],
            2 => bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(original) : BinaryPrimitives.ReadUInt16LittleEndian(original),
            4 => bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(original) : BinaryPrimitives.ReadUInt32LittleEndian(original),
            _ => bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(original) : BinaryPrimitives.ReadUInt64LittleEndian(original),
        };
        ulong mask = width == 8 ? ulong.MaxValue : (1UL << (8 * width)) - 1;
        (ulong value, what) = rnd.Next(8) switch
        {
            0 => (0UL, "0"),
            1 => (mask, "all ones"),
            2 => (1UL << (8 * width - 1), "sign bit"),
            3 => ((old + 1) & mask, "old+1"),
            4 => ((old - 1) & mask, "old-1"),
            5 => ((ulong)rnd.Next(1, 64), "small"),
            6 => ((old << 1) & mask, "old*2"),
            _ => ((ulong)rnd.NextInt64() & mask, "random"),
        };
        var bytes = new byte[width];
        switch (width)
        {
            case 1: bytes[0] = (byte)value; break;
            case 2: if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)value); else BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)value); break;
            case 4: if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)value); else BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)value); break;
            default: if (bigEndian) BinaryPrimitives.WriteUInt64BigEndian(bytes, value); else BinaryPrimitives.WriteUInt64LittleEndian(bytes, value); break;
        }
        what = $"{what} (0x{value:x})";
        return bytes;
    }

    public static byte[] Le16(int v) { var b = new byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v); return b; }
    public static byte[] Le32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); return b; }
    public static byte[] Le64(ulong v) { var b = new byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); return b; }
    public static byte[] Be32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32BigEndian(b, v); return b; }
    public static byte[] Be64(ulong v) { var b = new byte[8]; BinaryPrimitives.WriteUInt64BigEndian(b, v); return b; }

    public static byte[] Read(IReadAt image, long offset, int length)
    {
        var b = new byte[length];
        image.ReadAt(offset, b);
        return b;
    }
}
