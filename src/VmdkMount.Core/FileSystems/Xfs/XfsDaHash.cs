using System.Numerics;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>
/// The name hash that orders directory and attribute indexes (xfs_da_hashname, xfs.md §5.8). On an ASCII-CI
/// filesystem (versionnum BORG) the hash is taken over the name with A-Z lower-cased.
/// </summary>
internal static class XfsDaHash
{
    public static uint Hash(ReadOnlySpan<byte> name, bool asciiCi)
    {
        uint h = 0;
        int i = 0;
        for (; name.Length - i >= 4; i += 4)
            h = ((uint)B(name, i, asciiCi) << 21) ^ ((uint)B(name, i + 1, asciiCi) << 14) ^ ((uint)B(name, i + 2, asciiCi) << 7)
                ^ B(name, i + 3, asciiCi) ^ BitOperations.RotateLeft(h, 28);
        return (name.Length - i) switch
        {
            3 => ((uint)B(name, i, asciiCi) << 14) ^ ((uint)B(name, i + 1, asciiCi) << 7) ^ B(name, i + 2, asciiCi) ^ BitOperations.RotateLeft(h, 21),
            2 => ((uint)B(name, i, asciiCi) << 7) ^ B(name, i + 1, asciiCi) ^ BitOperations.RotateLeft(h, 14),
            1 => B(name, i, asciiCi) ^ BitOperations.RotateLeft(h, 7),
            _ => h,
        };
    }

    private static byte B(ReadOnlySpan<byte> name, int i, bool asciiCi)
    {
        byte b = name[i];
        return asciiCi && b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b;
    }

    /// <summary>Name equality as the filesystem defines it (ASCII-CI: A-Z equal a-z; otherwise bytewise).</summary>
    public static bool NamesEqual(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, bool asciiCi)
    {
        if (!asciiCi) return a.SequenceEqual(b);
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++)
            if (B(a, i, true) != B(b, i, true)) return false;
        return true;
    }
}
