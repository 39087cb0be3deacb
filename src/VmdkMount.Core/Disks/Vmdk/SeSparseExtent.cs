using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>ESXi SEsparse delta extent. (Placeholder until it lands.)</summary>
public sealed class SeSparseExtent
{
    public static IExtent Open(IReadAt file, string fileName) =>
        throw new UnsupportedFeatureException(fileName, "SEsparse extents not built yet");
}
