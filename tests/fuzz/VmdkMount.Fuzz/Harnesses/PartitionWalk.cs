using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Fuzz.Harnesses;

/// <summary>
/// What `volumes` does with a disk: the scanner reads the MBR and its EBR chain, both GPT copies, LDM and LVM2
/// labels and metadata, and probes each volume for every filesystem signature; then the first and last sectors of
/// every volume it found are read through its view (an LVM logical volume's segments and stripes).
/// </summary>
public static class PartitionWalk
{
    private const int MaxVolumesRead = 64;

    public static void Run(IReadAt disk)
    {
        DiskLayout layout;
        try
        {
            layout = VolumeScanner.Scan(disk, "fuzz", FormatRegistry.Default);
        }
        catch (Exception e) when (ExpectedErrors.IsExpected(e))
        {
            return;
        }
        var sector = new byte[4096];
        foreach (var v in layout.Volumes.Take(MaxVolumesRead))
        {
            ExpectedErrors.Tolerate(() => v.Data.ReadAt(0, sector));
            ExpectedErrors.Tolerate(() => v.Data.ReadAt(Math.Max(0, v.Data.Length - sector.Length), sector));
        }
    }
}
