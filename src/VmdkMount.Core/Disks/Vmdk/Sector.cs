namespace VmdkMount.Core.Disks.Vmdk;

/// <summary>
/// The VMDK addressing unit. Every format here (KDMV, COWD, SEsparse, descriptor SIZE and OFFSET) counts in sectors
/// of 512 bytes whatever the host's or the guest's sector size; a field or variable named <c>...Sectors</c> holds them.
/// </summary>
internal static class Sector
{
    public const int Size = 512;
}
