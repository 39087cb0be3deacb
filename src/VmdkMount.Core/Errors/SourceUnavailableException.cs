namespace VmdkMount.Core.Errors;

/// <summary>A file, parent link or remote export cannot be opened at all (missing, no permission, refused).</summary>
public class SourceUnavailableException : VmdkMountException
{
    public SourceUnavailableException(string source, string problem, Exception? inner = null)
        : base($"{source}: {problem}", inner)
    {
        Source_ = source;
    }

    public string Source_ { get; }
}
