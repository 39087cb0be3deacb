using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Fuzz.Harnesses;

/// <summary>
/// What a parser may throw for bad input: the product's typed errors (corrupt, unsupported, unreadable file, chain,
/// missing source) and the transport's lost-connection error. Anything else escaping a harness is a finding: an
/// IndexOutOfRangeException, an OverflowException, an OutOfMemoryException is a bug in the parser, not a verdict on
/// the input.
/// </summary>
public static class ExpectedErrors
{
    /// <summary>VMDKMOUNT_FUZZ_DEBUG=1 prints every expected error (replay: why did a seed stop early?).</summary>
    private static readonly bool Debug = Environment.GetEnvironmentVariable("VMDKMOUNT_FUZZ_DEBUG") == "1";

    public static bool IsExpected(Exception e)
    {
        bool expected = e is VmdkMountException or TransportException
            // a check's own time bound (IFileSystemCheck honours its token), not the parser's
            or OperationCanceledException;
        if (expected && Debug) Console.Error.WriteLine($"expected: {e.GetType().Name}: {e.Message}");
        return expected;
    }

    /// <summary>Runs <paramref name="step"/>; a typed error ends that step only, so the walk goes on with the next.</summary>
    public static void Tolerate(Action step)
    {
        try
        {
            step();
        }
        catch (Exception e) when (IsExpected(e))
        {
        }
    }
}
