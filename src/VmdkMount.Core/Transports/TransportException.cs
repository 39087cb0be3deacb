namespace VmdkMount.Core.Transports;

/// <summary>
/// A remote read failed: the connection broke or timed out, the server sent an error or something that breaks the
/// protocol. The message names the source and the request (<c>nbd://host:port/export: read 4096 bytes at 8192: ...</c>).
/// An <see cref="IOException"/>, so a mount turns it into EIO for the one call and the CLI into an error line.
/// </summary>
public sealed class TransportException : IOException
{
    public TransportException(string message, Exception? inner = null, bool connectionLost = false) : base(message, inner)
    {
        ConnectionLost = connectionLost;
    }

    /// <summary>
    /// The connection is gone (EOF, reset, timeout, protocol violation): a new connection may succeed. False for an
    /// error the server answered cleanly (EIO...) and for a source that changed, where trying again cannot help.
    /// </summary>
    public bool ConnectionLost { get; }
}
