using VmdkMount.Core.FileSystems;

namespace VmdkMount.Tests.Infrastructure;

/// <summary>
/// Tests of NTFS and ext reach the optional reader interfaces through these: the readers' Open returns the core
/// <see cref="IFileSystem"/>, and these tests know which capabilities their format has (a wrong guess fails loudly).
/// </summary>
internal static class CapabilityCasts
{
    public static ISymlinkReader Links(this IFileSystem fs) => (ISymlinkReader)fs;

    public static INamedStreams Streams(this IFileSystem fs) => (INamedStreams)fs;
}
