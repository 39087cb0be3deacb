using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>exFAT reader. (Placeholder until the reader lands.)</summary>
public static class ExFatFileSystem
{
    public static IFileSystem Open(IReadAt data, string name, FileSystemOptions options)
    {
        throw new UnsupportedFeatureException(name, "exFAT reader not built yet");
    }
}
