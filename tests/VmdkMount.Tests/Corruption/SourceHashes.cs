using System.Security.Cryptography;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// The identity of the intact files a corpus run reads, taken before and compared after: the corruption is an overlay,
/// and this proves no case wrote through to them. Files up to <see cref="FullHashBytes"/> are hashed whole; larger
/// (sparse 100 MiB-5 GiB images) by length, modification time and the hash of their first and last MiB.
/// </summary>
public static class SourceHashes
{
    public const long FullHashBytes = 64L << 20;
    private const int EdgeBytes = 1 << 20;

    public static Dictionary<string, string> Of(IEnumerable<string> files) =>
        files.Distinct().ToDictionary(f => f, Identity);

    private static string Identity(string path)
    {
        var info = new FileInfo(path);
        using var s = File.OpenRead(path);
        if (info.Length <= FullHashBytes) return Convert.ToHexString(SHA256.HashData(s));
        var edges = new byte[2 * EdgeBytes];
        s.ReadExactly(edges.AsSpan(0, EdgeBytes));
        s.Position = info.Length - EdgeBytes;
        s.ReadExactly(edges.AsSpan(EdgeBytes));
        return $"{info.Length} {info.LastWriteTimeUtc.Ticks} {Convert.ToHexString(SHA256.HashData(edges))}";
    }
}
