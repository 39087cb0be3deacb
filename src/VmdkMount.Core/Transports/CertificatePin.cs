using System.Buffers.Binary;
using System.Security.Cryptography;

namespace VmdkMount.Core.Transports;

/// <summary>
/// A server certificate pinned by its thumbprint, as VMware tools print one: hex pairs joined by colons
/// (`AB:CD:...`), the hash of the DER certificate. The algorithm follows from the length (20 bytes SHA-1, 28 SHA-224,
/// 32 SHA-256, 48 SHA-384, 64 SHA-512) or from a prefix such as `sha256:`. Case, colons and spaces do not matter.
/// </summary>
public sealed class CertificatePin
{
    private static readonly (string Name, int Length)[] Algorithms =
        [("sha1", 20), ("sha224", 28), ("sha256", 32), ("sha384", 48), ("sha512", 64)];

    private CertificatePin(string algorithm, byte[] digest, bool prefixed)
    {
        Algorithm = algorithm;
        Digest = digest;
        Prefixed = prefixed;
    }

    /// <summary>sha1, sha224, sha256, sha384 or sha512.</summary>
    public string Algorithm { get; }

    public byte[] Digest { get; }

    /// <summary>Whether the user wrote the algorithm as a prefix (then the thumbprint seen is printed with it too).</summary>
    public bool Prefixed { get; }

    public static CertificatePin Parse(string text)
    {
        string body = text.Trim();
        string? named = null;
        int colon = body.IndexOf(':');
        if (colon > 0 && body[..colon].Any(c => !Uri.IsHexDigit(c)) || colon > 2)
        {
            named = body[..colon].Replace("-", "", StringComparison.Ordinal).ToLowerInvariant();
            body = body[(colon + 1)..];
            if (!Algorithms.Any(a => a.Name == named))
                throw new ArgumentException($"--thumbprint: unknown hash '{text[..colon]}' (sha1, sha224, sha256, sha384, sha512)");
        }
        var hex = new string(body.Where(c => c is not (':' or ' ' or '-')).ToArray());
        if (hex.Length == 0 || hex.Length % 2 != 0 || !hex.All(Uri.IsHexDigit))
            throw new ArgumentException($"--thumbprint: '{text}' is not hex pairs such as AB:CD:EF:...");
        byte[] digest = Convert.FromHexString(hex);
        var byLength = Algorithms.FirstOrDefault(a => a.Length == digest.Length);
        if (named is null)
        {
            if (byLength.Name is null)
                throw new ArgumentException($"--thumbprint: {digest.Length} bytes is no known hash (SHA-1 20, SHA-224 28, SHA-256 32, SHA-384 48, SHA-512 64)");
            return new CertificatePin(byLength.Name, digest, prefixed: false);
        }
        if (Algorithms.First(a => a.Name == named).Length != digest.Length)
            throw new ArgumentException($"--thumbprint: a {named} thumbprint has {Algorithms.First(a => a.Name == named).Length} bytes, not {digest.Length}");
        return new CertificatePin(named, digest, prefixed: true);
    }

    /// <summary>The thumbprint of a DER certificate with this pin's algorithm.</summary>
    public byte[] Hash(byte[] der) => Algorithm switch
    {
        "sha1" => SHA1.HashData(der),
        "sha224" => Sha224.Hash(der),
        "sha256" => SHA256.HashData(der),
        "sha384" => SHA384.HashData(der),
        _ => SHA512.HashData(der),
    };

    public bool Matches(byte[] der) => CryptographicOperations.FixedTimeEquals(Hash(der), Digest);

    /// <summary>A digest spelled the way this pin was given: `AB:CD:...`, with the `sha256:` prefix if the user wrote one.</summary>
    public string Format(byte[] digest) =>
        (Prefixed ? Algorithm + ":" : "") + string.Join(':', digest.Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));

    public override string ToString() => Format(Digest);

    /// <summary>SHA-224 (FIPS 180-4): SHA-256 with other initial values, cut to 28 bytes. .NET has no SHA-224.</summary>
    internal static class Sha224
    {
        private static readonly uint[] K =
        [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
            0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
            0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
            0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
            0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
            0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
            0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
        ];

        public static byte[] Hash(ReadOnlySpan<byte> data)
        {
            uint[] h = [0xc1059ed8, 0x367cd507, 0x3070dd17, 0xf70e5939, 0xffc00b31, 0x68581511, 0x64f98fa7, 0xbefa4fa4];
            long bitLength = (long)data.Length * 8;
            int padded = (data.Length + 9 + 63) / 64 * 64;
            byte[] message = new byte[padded];
            data.CopyTo(message);
            message[data.Length] = 0x80;
            BinaryPrimitives.WriteInt64BigEndian(message.AsSpan(padded - 8), bitLength);
            Span<uint> w = stackalloc uint[64];
            for (int block = 0; block < padded; block += 64)
            {
                for (int i = 0; i < 16; i++) w[i] = BinaryPrimitives.ReadUInt32BigEndian(message.AsSpan(block + 4 * i));
                for (int i = 16; i < 64; i++)
                {
                    uint s0 = uint.RotateRight(w[i - 15], 7) ^ uint.RotateRight(w[i - 15], 18) ^ (w[i - 15] >> 3);
                    uint s1 = uint.RotateRight(w[i - 2], 17) ^ uint.RotateRight(w[i - 2], 19) ^ (w[i - 2] >> 10);
                    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
                }
                uint a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
                for (int i = 0; i < 64; i++)
                {
                    uint t1 = hh + (uint.RotateRight(e, 6) ^ uint.RotateRight(e, 11) ^ uint.RotateRight(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
                    uint t2 = (uint.RotateRight(a, 2) ^ uint.RotateRight(a, 13) ^ uint.RotateRight(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
                    (hh, g, f, e, d, c, b, a) = (g, f, e, d + t1, c, b, a, t1 + t2);
                }
                h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
            }
            byte[] digest = new byte[28];
            for (int i = 0; i < 7; i++) BinaryPrimitives.WriteUInt32BigEndian(digest.AsSpan(4 * i), h[i]);
            return digest;
        }
    }
}
