namespace VmdkMount.Core.Volumes;

/// <summary>What a volume holds, decided from its bytes. <see cref="Detail"/> says more where it matters (e.g. hibernation).</summary>
public sealed record ProbeResult(string FileSystem, string? Version = null, string? Label = null, string? Detail = null)
{
    public static readonly ProbeResult Unknown = new(FileSystemKinds.Unknown);
}
