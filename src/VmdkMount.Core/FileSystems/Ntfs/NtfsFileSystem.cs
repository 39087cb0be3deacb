using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Ntfs;

/// <summary>NTFS reader. (Placeholder until the reader lands.)</summary>
public static class NtfsFileSystem
{
    public static IFileSystem Open(IReadAt data, string name, FileSystemOptions options)
    {
        throw new UnsupportedFeatureException(name, "NTFS reader not built yet");
    }
}
