using VmdkMount.Core.Transports;

namespace VmdkMount.Core.Disks;

/// <summary>
/// Where the files of one chain may come from, fixed once per open from <see cref="DiskOpenOptions"/>: the real path
/// of the --confine folder (every file must lie under it) and whether an extent may lie outside the folder of the
/// descriptor that names it. That a file is a regular, non-kernel file is not a rule here but always enforced by
/// <see cref="RegularFileOpener"/>.
/// </summary>
internal sealed record ChainFileRules(string? ConfineTo, bool AllowOutsideExtents)
{
    /// <summary>The defaults: no confinement, extents only beside their descriptor.</summary>
    public static ChainFileRules Strict { get; } = new(null, false);

    public static ChainFileRules From(DiskOpenOptions options) => new(
        options.ConfineTo is null ? null : RegularFileOpener.RealDirectory(options.ConfineTo, "--confine"),
        options.AllowOutsideExtents);
}
