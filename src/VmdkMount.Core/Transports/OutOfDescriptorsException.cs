using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Transports;

/// <summary>
/// open(2) failed with EMFILE or ENFILE: not a fault of the file but of the moment. <see cref="FileHandlePool"/>
/// catches it, closes idle handles, lowers its own bound and opens again; it reaches a caller only when every handle
/// of the pool stayed busy past the pool's wait.
/// </summary>
public sealed class OutOfDescriptorsException(string source, string problem) : SourceUnavailableException(source, problem)
{
    /// <summary>What open(2) said ("Too many open files"), without the file's name.</summary>
    public string Problem { get; } = problem;
}
