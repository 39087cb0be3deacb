namespace VmdkMount.Core.Errors;

/// <summary>A snapshot chain does not link up: CID mismatch, missing parent, loop, too deep.</summary>
public class ChainException : VmdkMountException
{
    public ChainException(string message, Exception? inner = null) : base(message, inner) { }
}
