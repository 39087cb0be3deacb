using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>FAT reader. (Placeholder until the reader lands.)</summary>
public static class FatFileSystem
{
    public static IFileSystem Open(IReadAt data, string name, FileSystemOptions options)
    {
        throw new UnsupportedFeatureException(name, "FAT reader not built yet");
    }
}
