using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>A VMDK chain, flattened. (Placeholder until the engine lands.)</summary>
public static class VmdkDisk
{
    public static IVirtualDisk Open(string path, DiskOpenOptions options)
    {
        throw new UnsupportedFeatureException(path, "VMDK engine not built yet");
    }
}
