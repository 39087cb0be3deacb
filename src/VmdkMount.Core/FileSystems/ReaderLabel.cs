using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems;

/// <summary>
/// A volume's label exactly as its reader shows it (same decoding, same escaping), for the probe: the label
/// `volumes` prints is then the one the mounted volume has. A volume whose reader cannot open it has none.
/// </summary>
internal static class ReaderLabel
{
    public static string? Of(IReadAt volume, FormatOpen open)
    {
        try
        {
            using var fs = open(volume, "probe", new FileSystemOptions());
            return fs.Label;
        }
        catch (VmdkMountException)
        {
            return null;
        }
    }
}
