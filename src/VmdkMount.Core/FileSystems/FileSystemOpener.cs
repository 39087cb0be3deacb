using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems.Ext;
using VmdkMount.Core.FileSystems.Fat;
using VmdkMount.Core.FileSystems.Ntfs;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems;

/// <summary>Picks the reader for a filesystem kind as volume discovery named it.</summary>
public static class FileSystemOpener
{
    /// <summary>Whether the reader for <paramref name="kind"/> can list named streams (<see cref="IFileSystem.ListStreams"/>).</summary>
    public static bool HasStreams(string kind) => kind == "ntfs";

    /// <param name="kind">ntfs, ext2, ext3, ext4, fat12, fat16, fat32, exfat.</param>
    /// <param name="data">The volume's bytes.</param>
    /// <param name="name">How messages name the volume (e.g. `disk.vmdk:p2`).</param>
    public static IFileSystem Open(string kind, IReadAt data, string name, FileSystemOptions? options = null)
    {
        options ??= new FileSystemOptions();
        return kind switch
        {
            "ntfs" => NtfsFileSystem.Open(data, name, options),
            "ext2" or "ext3" or "ext4" => ExtFileSystem.Open(data, name, options),
            "fat12" or "fat16" or "fat32" => FatFileSystem.Open(data, name, options),
            "exfat" => ExFatFileSystem.Open(data, name, options),
            _ => throw new UnsupportedFeatureException(name, $"no reader for filesystem '{kind}'"),
        };
    }
}
