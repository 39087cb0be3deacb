using VmdkMount.Core.Errors;
using VmdkMount.Core.Mounting;

namespace VmdkMount.Fuse;

/// <summary>
/// The one place where an exception thrown below the frontend becomes an errno for one FUSE call. Damaged or
/// unreadable data is EIO plus one log line naming the file; a name that is not there is ENOENT (no log: lookups
/// of absent names are normal). Anything unexpected is EIO and logged with its type, never a crash.
/// </summary>
internal static class ErrnoMapping
{
    public static int ToErrno(Exception e, string operation, string? path, Action<string> log)
    {
        switch (e)
        {
            case PathNotFoundException or FileNotFoundException or DirectoryNotFoundException or KeyNotFoundException:
                return Errno.ENOENT;
            case CorruptDataException or FileReadException or SourceUnavailableException or UnsupportedFeatureException
                or ChainException:
                log($"{path ?? "?"}: {operation} failed: {e.Message}");
                return Errno.EIO;
            case IOException:
                log($"{path ?? "?"}: {operation} failed: I/O error: {e.Message}");
                return Errno.EIO;
            default:
                log($"{path ?? "?"}: {operation} failed: internal error {e.GetType().Name}: {e.Message}");
                return Errno.EIO;
        }
    }
}
