using Microsoft.Win32.SafeHandles;

namespace VmdkMount.Core.Transports;

/// <summary>
/// A regular file opened read-only by <see cref="RegularFileOpener"/>: the handle, the name it was asked for, where it
/// really is (links and `..` resolved) and its identity, so a later reopen can prove it is still the same file.
/// </summary>
public sealed class OpenedFile(SafeFileHandle handle, string path, string realPath, long length, ulong device, ulong inode)
{
    public SafeFileHandle Handle { get; } = handle;

    /// <summary>The name as the chain gave it (what error messages show first).</summary>
    public string Path { get; } = path;

    /// <summary>The file's real path: every symbolic link and `..` resolved.</summary>
    public string RealPath { get; } = realPath;

    public long Length { get; } = length;

    /// <summary>st_dev and st_ino; 0 where the platform does not report them.</summary>
    public ulong Device { get; } = device;

    public ulong Inode { get; } = inode;
}
