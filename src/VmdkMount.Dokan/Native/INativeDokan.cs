namespace VmdkMount.Dokan.Native;

/// <summary>
/// The calls into dokan2.dll the frontend makes. <see cref="DokanLibrary"/> is the real one (Windows only); tests
/// use a fake that drives the same callback table on Linux and counts what the adapter asked for.
/// </summary>
public unsafe interface INativeDokan
{
    void Init();

    void Shutdown();

    /// <summary>DokanCreateFileSystem: returns once mounted; 0 on success, a DOKAN_*_ERROR otherwise.</summary>
    int CreateFileSystem(DokanOptions* options, DokanOperations* operations, out nint instance);

    /// <summary>Blocks until the file system is unmounted (by DokanRemoveMountPoint, Explorer's eject, a crash of the driver).</summary>
    void WaitForFileSystemClosed(nint instance);

    /// <summary>Unmounts when still mounted and waits until every resource is released.</summary>
    void CloseHandle(nint instance);

    /// <summary>Unmounts a drive letter or folder, including one left by a process that is gone.</summary>
    bool RemoveMountPoint(string mountPoint);

    /// <summary>Keeps one request alive for another <paramref name="milliseconds"/> (long reads from a slow source).</summary>
    bool ResetTimeout(uint milliseconds, DokanFileInfo* info);
}

/// <summary>DokanCreateFileSystem's results (dokan.h).</summary>
public static class DokanResult
{
    public const int Success = 0, Error = -1, DriveLetterError = -2, DriverInstallError = -3, StartError = -4, MountError = -5,
        MountPointError = -6, VersionError = -7;

    public static string Describe(int code) => code switch
    {
        Success => "mounted",
        DriveLetterError => "bad drive letter",
        DriverInstallError => "the Dokan 2 driver is not installed or cannot be opened (install Dokan 2.x from https://github.com/dokan-dev/dokany/releases)",
        StartError => "the Dokan driver did not start the volume",
        MountError => "the drive letter or folder is in use",
        MountPointError => "the mount point is not a free drive letter or an empty NTFS folder",
        VersionError => "the installed Dokan library is older than 2.0",
        _ => $"Dokan error {code}",
    };
}
