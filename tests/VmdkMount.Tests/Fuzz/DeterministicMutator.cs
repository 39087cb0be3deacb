using System.Buffers.Binary;

namespace VmdkMount.Tests.Fuzz;

/// <summary>
/// AFL's havoc stage in miniature, seeded so that a failure replays: bit flips, random and "interesting" bytes and
/// words (0, -1, 0x7F.., 0x80.., small counts), block copies, truncation. What AFL finds in minutes this finds only
/// when it is shallow; it keeps every harness honest in CI where afl-fuzz is not the judge.
/// </summary>
public static class DeterministicMutator
{
    private static readonly uint[] Interesting = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x1000, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF];

    public static byte[] Mutate(byte[] seed, Random rnd)
    {
        var b = (byte[])seed.Clone();
        if (b.Length == 0) return [(byte)rnd.Next(256)];
        int edits = 1 + rnd.Next(6);
        for (int i = 0; i < edits; i++)
        {
            int at = rnd.Next(b.Length);
            switch (rnd.Next(7))
            {
                case 0: b[at] ^= (byte)(1 << rnd.Next(8)); break;
                case 1: b[at] = (byte)rnd.Next(256); break;
                case 2: b[at] = (byte)Interesting[rnd.Next(Interesting.Length)]; break;
                case 3 when at + 4 <= b.Length:
                    BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), Interesting[rnd.Next(Interesting.Length)]);
                    break;
                case 4 when at + 4 <= b.Length:
                    BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(at), Interesting[rnd.Next(Interesting.Length)]);
                    break;
                case 5:
                {
                    int from = rnd.Next(b.Length), n = rnd.Next(1, Math.Min(64, b.Length - Math.Max(from, at)) + 1);
                    b.AsSpan(from, Math.Min(n, b.Length - from)).CopyTo(b.AsSpan(at, Math.Min(n, b.Length - at)));
                    break;
                }
                default:
                    if (rnd.Next(4) == 0) b = b[..rnd.Next(b.Length)];
                    if (b.Length == 0) return [0];
                    break;
            }
        }
        return b;
    }
}
