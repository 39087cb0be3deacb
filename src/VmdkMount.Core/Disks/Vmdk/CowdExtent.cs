using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>ESX vmfsSparse (COWD) delta extent. (Placeholder until it lands.)</summary>
public sealed class CowdExtent
{
    public static IExtent Open(IReadAt file, string fileName) =>
        throw new UnsupportedFeatureException(fileName, "COWD (vmfsSparse) extents not built yet");
}
