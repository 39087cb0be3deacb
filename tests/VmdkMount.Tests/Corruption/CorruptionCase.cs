namespace VmdkMount.Tests.Corruption;

/// <summary>Bytes of an image replaced by others (applied over the intact image, which is never written).</summary>
public readonly record struct Patch(long Offset, byte[] Bytes);

/// <summary>
/// What a corruption may change: the paths (each with its subtree) whose metadata it hit, the virtual byte ranges of
/// a disk whose mapping it hit, or everything (a superblock, a boot sector, a header). Whatever it does not cover must
/// read exactly as in the intact image, or fail with a typed error: never with other bytes.
/// </summary>
public sealed record Touch(bool Everything, IReadOnlyList<string> Paths, IReadOnlyList<(long Offset, long Length)> Ranges)
{
    public static readonly Touch All = new(true, [], []);
    public static readonly Touch Nothing = new(false, [], []);

    public static Touch OfPaths(IEnumerable<string> paths) => new(false, paths.ToList(), []);

    public static Touch OfRange(long offset, long length) => new(false, [], [(offset, length)]);

    public bool Covers(string path) =>
        Everything || Paths.Any(p => p == "/" || path == p || path.StartsWith(p + "/", StringComparison.Ordinal));

    public bool Covers(long offset, long length) =>
        Everything || Ranges.Any(r => offset < r.Offset + r.Length && r.Offset < offset + length);
}

/// <summary>One metadata structure found by walking an intact image, and what a change to it may change.</summary>
public sealed record MetadataRegion(string Structure, long Offset, int Length, Touch Touch);

/// <summary>
/// One corrupted variant of an image: the structure it hit (so a failure names it), how (flip, field, zero, cut,
/// cross-link, loop), the patches or the cut, and what it may change.
/// </summary>
public sealed record CorruptionCase(string Image, string Structure, string Mutation, IReadOnlyList<Patch> Patches, long? TruncateTo, Touch Touch)
{
    /// <summary>For a chain: which file of it the patches and the cut apply to (null: the one image).</summary>
    public string? File { get; init; }

    public override string ToString() =>
        $"{Image}{(File is null ? "" : ":" + Path.GetFileName(File))} {Structure} [{Mutation}]";
}
