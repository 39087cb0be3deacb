namespace VmdkMount.Core.FileSystems.Xfs;

public sealed partial class XfsFileSystem : IExtendedAttributes
{
    public IReadOnlyList<FsExtendedAttribute> ExtendedAttributes(long id) => XfsAttributeFork.Read(_vol, Inode(id));
}
