namespace VmdkMount.Core.FileSystems;

/// <summary>
/// The optional interfaces a format's reader implements, as flags, so a frontend can decide before any volume is
/// opened (FUSE: whether to answer extended-attribute requests at all). A test proves each reader implements
/// exactly the interfaces its flags name.
/// </summary>
[Flags]
public enum FileSystemCapabilities
{
    None = 0,
    /// <summary><see cref="ISymlinkReader"/>.</summary>
    Symlinks = 1 << 0,
    /// <summary><see cref="INamedStreams"/>.</summary>
    NamedStreams = 1 << 1,
    /// <summary><see cref="IFileAllocationMap"/>.</summary>
    AllocationMap = 1 << 2,
    /// <summary><see cref="IExtendedAttributes"/>.</summary>
    ExtendedAttributes = 1 << 3,
}
