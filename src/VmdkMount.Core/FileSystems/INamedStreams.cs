namespace VmdkMount.Core.FileSystems;

/// <summary>Optional reader capability: named data streams besides the main one (NTFS alternate data streams).</summary>
public interface INamedStreams
{
    /// <summary>The node's named streams, names shown as the reader shows names; empty when it has none.</summary>
    IReadOnlyList<FsStream> ListStreams(long id);

    /// <summary>Reads a named stream as <see cref="IFileSystem.Read"/> reads the main one; a name the node lacks raises <see cref="Errors.FileReadException"/>.</summary>
    int ReadStream(long id, string streamName, long offset, Span<byte> destination);
}
