using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>ext2/3/4 reader. (Placeholder until the reader lands.)</summary>
public static class ExtFileSystem
{
    public static IFileSystem Open(IReadAt data, string name, FileSystemOptions options)
    {
        throw new UnsupportedFeatureException(name, "ext2/3/4 reader not built yet");
    }
}
