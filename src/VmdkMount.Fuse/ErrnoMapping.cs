using VmdkMount.Core.Mounting;

namespace VmdkMount.Fuse;

/// <summary>
/// The one place where an exception thrown below the frontend becomes an errno for one FUSE call, from the
/// frontend-neutral <see cref="MountErrors.Classify"/>. Damaged or unreadable data is EIO plus one log line naming
/// the file; a name that is not there is ENOENT (no log: lookups of absent names are normal). Anything unexpected is
/// EIO and logged with its type, never a crash.
/// </summary>
internal static class ErrnoMapping
{
    public static int ToErrno(Exception e, string operation, string? path, Action<string> log)
    {
        if (MountErrors.Describe(e, operation, path) is { } line) log(line);
        return MountErrors.Classify(e) == MountErrorKind.NotFound ? Errno.ENOENT : Errno.EIO;
    }
}
