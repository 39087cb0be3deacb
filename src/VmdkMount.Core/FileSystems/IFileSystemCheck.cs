namespace VmdkMount.Core.FileSystems;

/// <summary>
/// Optional reader capability, for `vmdkmount check`: a bounded structural check of the reader's own metadata (ext:
/// superblock and group descriptor checksums, inode tables inside the volume; ...). The directory tree is walked
/// separately, for every reader, by <see cref="FileSystemTreeCheck"/>. A reader without such metadata need not implement it.
/// </summary>
public interface IFileSystemCheck
{
    /// <summary>Problems found; empty when clean. Cost bounded by the reader (it says so in a problem when it stops early).</summary>
    IEnumerable<FsProblem> Check(CancellationToken cancel);
}

/// <summary>One problem a check found: the structure (`group descriptor 3`, `directory /a/b (node 12)`) and what is wrong.</summary>
public readonly record struct FsProblem(string Structure, string Message)
{
    public override string ToString() => $"{Structure}: {Message}";
}
