using VmdkMount.Core.Disks;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Volumes;

/// <summary>Finds the volumes on a disk. (Placeholder: the whole disk as one volume, until discovery lands.)</summary>
public static class VolumeScanner
{
    public static DiskLayout Scan(IVirtualDisk disk)
    {
        var whole = new Volume
        {
            Id = "disk", Offset = 0, Size = disk.Length, Scheme = "none",
            FileSystem = "unknown", Mountable = false, Reason = "volume discovery not built yet",
            Data = new SubRange(disk, 0, disk.Length),
        };
        return new DiskLayout { Scheme = "none", SectorSize = 512, Volumes = [whole] };
    }
}
