namespace VmdkMount.Fuse;

/// <summary>The Linux errno values the adapter replies with (same on x86_64 and arm64).</summary>
internal static class Errno
{
    public const int ENOENT = 2;
    public const int EIO = 5;
    public const int ENXIO = 6;
    public const int E2BIG = 7;
    public const int EBADF = 9;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int EROFS = 30;
    public const int ERANGE = 34;
    public const int ENOSYS = 38;
    public const int ENODATA = 61;
    public const int ENOTCONN = 107;
}
