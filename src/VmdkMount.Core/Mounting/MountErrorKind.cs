using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Mounting;

/// <summary>What went wrong in one request, as every frontend must tell it apart (FUSE maps it to an errno, a Dokan frontend to an NTSTATUS).</summary>
public enum MountErrorKind
{
    /// <summary>The name is not there. Normal for lookups: not logged.</summary>
    NotFound,
    /// <summary>The image's structures are damaged.</summary>
    Corrupt,
    /// <summary>A feature the readers do not have (or one file's data cannot be produced: encrypted, a placeholder).</summary>
    Unsupported,
    /// <summary>The data is not in the backup: a chain file is missing or refused, a NOACCESS extent, an RDM.</summary>
    NotInBackup,
    /// <summary>Reading a chain file failed.</summary>
    Io,
    /// <summary>A bug of ours (any other exception): logged with its type, never a crash.</summary>
    Internal,
}

/// <summary>The one classification of exceptions thrown below a frontend.</summary>
public static class MountErrors
{
    public static MountErrorKind Classify(Exception e) => e switch
    {
        PathNotFoundException or FileNotFoundException or DirectoryNotFoundException or KeyNotFoundException => MountErrorKind.NotFound,
        CorruptDataException or ChainException => MountErrorKind.Corrupt,
        UnsupportedFeatureException or FileReadException => MountErrorKind.Unsupported,
        SourceUnavailableException => MountErrorKind.NotInBackup,
        IOException => MountErrorKind.Io,
        _ => MountErrorKind.Internal,
    };

    /// <summary>The log line a frontend writes for a failed request (none for <see cref="MountErrorKind.NotFound"/>).</summary>
    public static string? Describe(Exception e, string operation, string? path) => Classify(e) switch
    {
        MountErrorKind.NotFound => null,
        MountErrorKind.Io => $"{path ?? "?"}: {operation} failed: I/O error: {e.Message}",
        MountErrorKind.Internal => $"{path ?? "?"}: {operation} failed: internal error {e.GetType().Name}: {e.Message}",
        _ => $"{path ?? "?"}: {operation} failed: {e.Message}",
    };
}
