namespace VmdkMount.Core.Errors;

/// <summary>
/// A caller of the engine broke a documented precondition: an offset outside the range, a read of a range that is
/// not data, a size no caller should pass. That is a bug in VmdkMount, never the image's doing (an image's bad data
/// raises <see cref="CorruptDataException"/>) and never the user's (the CLI checks its arguments itself). It is not
/// an <see cref="ArgumentException"/>, which the CLI reports as bad usage, nor a <see cref="VmdkMountException"/>,
/// which reads as a damaged backup: the CLI reports it as an internal error.
/// </summary>
public sealed class ContractViolationException : InvalidOperationException
{
    public ContractViolationException(string message) : base(message) { }
}
