using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;
using VmdkMount.Tests.Fuse;

namespace VmdkMount.Tests.Infrastructure;

/// <summary>The mount model over one in-memory reader, as the CLI opens a volume (`p1` at the root).</summary>
internal static class SingleVolumeTree
{
    public static MountTree Of(IFileSystem fs, NodeRetention? retention = null)
    {
        var disk = new MemoryDisk(new byte[4096], []);
        var volume = new Volume
        {
            Id = "p1", Offset = 0, Size = 4096, Scheme = "mbr", FileSystem = fs.Kind, Mountable = true, Data = new SubRange(disk, 0, 1),
        };
        return new MountTree(disk, [volume], _ => fs,
            new MountTreeOptions { SingleVolume = "p1", Retention = retention ?? NodeRetention.UntilPassed });
    }
}
