namespace VmdkMount.Core.Errors;

/// <summary>
/// Base of every error this product raises on purpose. The message names the file (or volume), the structure and
/// the byte offset, so a user can tell which link of a 500-link chain is damaged and where.
/// Frontends map these to an exit code (CLI), EIO (FUSE) or an NTSTATUS (Dokan) for that one call.
/// </summary>
public abstract class VmdkMountException : Exception
{
    protected VmdkMountException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>What the user can do about it, where the engine knows (an option to try): shown after the message.</summary>
    public string? Hint { get; internal set; }
}
