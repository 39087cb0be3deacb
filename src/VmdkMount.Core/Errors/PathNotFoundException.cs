namespace VmdkMount.Core.Errors;

/// <summary>Thrown when a path names nothing.</summary>
public sealed class PathNotFoundException : VmdkMountException
{
    public PathNotFoundException(string path) : base($"{path}: no such file or directory") { }
}
