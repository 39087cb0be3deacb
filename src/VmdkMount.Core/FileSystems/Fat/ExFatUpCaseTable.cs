using System.Buffers.Binary;
using System.Numerics;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>
/// exFAT's up-case table: how this volume folds names for case-insensitive comparison. Stored compressed:
/// 0xFFFF followed by N means "the next N code points map to themselves". Code points past the table, and every
/// code point when the volume's table is missing or damaged, fold with the invariant culture's upper-casing.
/// </summary>
internal sealed class ExFatUpCaseTable
{
    /// <summary>A full table is 128 KiB uncompressed; anything much larger is not an up-case table.</summary>
    public const long MaxBytes = 256 * 1024;
    private const ushort IdentityRun = 0xFFFF;

    private readonly char[]? _map;

    private ExFatUpCaseTable(char[]? map) => _map = map;

    public static ExFatUpCaseTable Invariant { get; } = new(null);

    public static uint Checksum(ReadOnlySpan<byte> table)
    {
        uint sum = 0;
        foreach (byte b in table) sum = BitOperations.RotateRight(sum, 1) + b;
        return sum;
    }

    public static ExFatUpCaseTable Decode(ReadOnlySpan<byte> table)
    {
        var map = new char[65536];
        for (int i = 0; i < map.Length; i++) map[i] = char.ToUpperInvariant((char)i);
        int code = 0;
        int count = table.Length / 2;
        for (int k = 0; k < count && code < map.Length; k++)
        {
            ushort v = BinaryPrimitives.ReadUInt16LittleEndian(table[(2 * k)..]);
            if (v == IdentityRun && k + 1 < count)
            {
                int run = BinaryPrimitives.ReadUInt16LittleEndian(table[(2 * (k + 1))..]);
                for (int j = 0; j < run && code < map.Length; j++, code++) map[code] = (char)code;
                k++;
                continue;
            }
            map[code++] = (char)v;
        }
        return new ExFatUpCaseTable(map);
    }

    public string Fold(string name) =>
        string.Create(name.Length, (name, this), static (dst, state) =>
        {
            var (src, table) = state;
            for (int i = 0; i < src.Length; i++)
                dst[i] = table._map is { } m ? m[src[i]] : char.ToUpperInvariant(src[i]);
        });
}
