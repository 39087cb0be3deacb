namespace VmdkMount.Core.Errors;

/// <summary>
/// One file's data cannot be produced (EFS-encrypted, dedup/cloud placeholder without data, missing stream).
/// Not a sign of corruption: listing and other files keep working.
/// </summary>
public class FileReadException : VmdkMountException
{
    public FileReadException(string path, string reason) : base($"{path}: {reason}")
    {
        Reason = reason;
    }

    public string Reason { get; }
}
