using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Corruption;

/// <summary>
/// The local files of a chain, one of them seen through a case's patches and cut (in memory): the chain opens the
/// corrupted file by name as it would the real one, and no file is written.
/// </summary>
public sealed class PatchedSourceStore(string corruptedFile, IReadOnlyList<Patch> patches, long? truncateTo) : ISourceStore
{
    private readonly ISourceStore _inner = LocalSourceStore.Unconfined;
    private readonly string _target = Path.GetFullPath(corruptedFile);

    public string FullName(string name) => _inner.FullName(name);
    public string FolderOf(string name) => _inner.FolderOf(name);
    public string Resolve(string relativeTo, string name) => _inner.Resolve(relativeTo, name);
    public bool IsUnder(string name, string folder) => _inner.IsUnder(name, folder);
    public string RealFolderOf(string name) => _inner.RealFolderOf(name);
    public SourceEntryKind Kind(string name) => _inner.Kind(name);
    public IReadOnlyList<string> FilesBeside(string name) => _inner.FilesBeside(name);
    public string? WhyNotListed(string name) => _inner.WhyNotListed(name);
    public SourceIdentity Identity(string name) => _inner.Identity(name);

    public ISourceFile Open(string name)
    {
        var file = _inner.Open(name);
        return Path.GetFullPath(_inner.FullName(name)) == _target ? new Corrupted(file, patches, truncateTo) : file;
    }

    private sealed class Corrupted(ISourceFile file, IReadOnlyList<Patch> patches, long? truncateTo) : ISourceFile
    {
        private readonly CorruptedView _view = new(file, patches, truncateTo);

        public string Name => file.Name;
        public string RealName => file.RealName;
        public long Length => _view.Length;
        public int ReadAt(long offset, Span<byte> destination) => _view.ReadAt(offset, destination);
        public void Dispose() => file.Dispose();
    }
}
