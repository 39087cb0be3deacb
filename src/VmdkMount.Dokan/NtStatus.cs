using VmdkMount.Core.Mounting;

namespace VmdkMount.Dokan;

/// <summary>The NTSTATUS values the Dokan frontend answers with (values from ntstatus.h).</summary>
public static class NtStatus
{
    public const uint Success = 0x00000000;
    public const uint BufferOverflow = 0x80000005;
    public const uint NotImplemented = 0xC0000002;
    public const uint InvalidHandle = 0xC0000008;
    public const uint InvalidParameter = 0xC000000D;
    public const uint InvalidDeviceRequest = 0xC0000010;
    public const uint EndOfFile = 0xC0000011;
    public const uint ObjectNameInvalid = 0xC0000033;
    public const uint ObjectNameCollision = 0xC0000035;
    public const uint FileIsADirectory = 0xC00000BA;
    public const uint NotADirectory = 0xC0000103;
    public const uint ObjectNameNotFound = 0xC0000034;
    public const uint ObjectPathNotFound = 0xC000003A;
    public const uint FileCorruptError = 0xC0000102;
    public const uint AccessDenied = 0xC0000022;
    public const uint MediaWriteProtected = 0xC00000A2;
    public const uint DeviceNotReady = 0xC00000A3;
    public const uint IoDeviceError = 0xC0000185;
    public const uint InternalError = 0xC00000E5;

    /// <summary>
    /// The one mapping from the mount model's error classification. A missing name is OBJECT_NAME_NOT_FOUND when its
    /// folder exists and OBJECT_PATH_NOT_FOUND when a folder on the way does not, as Windows expects.
    /// Unsupported covers files whose data cannot be produced (EFS, placeholders): ACCESS_DENIED, as Windows says for EFS.
    /// </summary>
    public static uint From(MountErrorKind kind, bool parentMissing = false) => kind switch
    {
        MountErrorKind.NotFound => parentMissing ? ObjectPathNotFound : ObjectNameNotFound,
        MountErrorKind.Corrupt => FileCorruptError,
        MountErrorKind.Unsupported => AccessDenied,
        MountErrorKind.NotInBackup => DeviceNotReady,
        MountErrorKind.Io => IoDeviceError,
        _ => InternalError,
    };

    public static uint From(Exception e, bool parentMissing = false) => From(MountErrors.Classify(e), parentMissing);
}
