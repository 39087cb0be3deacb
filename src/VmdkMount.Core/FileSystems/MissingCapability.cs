using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems;

/// <summary>
/// The refusal a caller raises when it needs a capability the volume's reader does not have (a stream asked for on
/// ext, a link read on FAT), worded once for every caller, with the words the readers' stubs used to use.
/// </summary>
public static class MissingCapability
{
    public static FileReadException NoSymlinks(IFileSystem fs, long id) =>
        new($"{fs.Kind} node {id}", $"{DisplayName(fs)} has no symbolic links");

    public static FileReadException NoStreams(IFileSystem fs, long id, string streamName) =>
        new($"{fs.Kind} node {id}", $"no stream '{streamName}': {DisplayName(fs)} has no named data streams");

    private static string DisplayName(IFileSystem fs) => FormatRegistry.Default.Find(fs.Kind)?.DisplayName ?? fs.Kind;
}
