using VmdkMount.Cli;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Tests.Cli;

/// <summary>
/// The one place that turns exceptions into exit codes: an engine contract breach is the program's bug, so it must
/// not read as the user's bad usage (2); a bad argument still does.
/// </summary>
public class ExitCodeTests
{
    [Fact]
    public void Engine_contract_breach_is_an_internal_error_not_bad_usage()
    {
        Assert.Equal(ExitCodes.Problems, CliCommon.Run(() => throw new ContractViolationException("read at negative offset -1")));
        Assert.Equal(ExitCodes.Usage, CliCommon.Run(() => throw new ArgumentException("--cache-size: 'x' is not a size like 512M")));
    }

    [Fact]
    public void A_read_at_a_negative_offset_is_a_contract_breach()
    {
        var window = new SubRange(Empty.Instance, 0, 0);
        Assert.Throws<ContractViolationException>(() => window.ReadAt(-1, new byte[1]));
    }

    private sealed class Empty : IReadAt
    {
        public static readonly Empty Instance = new();
        public long Length => 0;
        public int ReadAt(long offset, Span<byte> destination) => 0;
    }
}
