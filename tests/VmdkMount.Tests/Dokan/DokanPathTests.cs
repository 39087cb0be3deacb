using VmdkMount.Dokan;
using Xunit;

namespace VmdkMount.Tests.Dokan;

public class DokanPathTests
{
    [Theory]
    [InlineData(@"\", "", null)]
    [InlineData(@"\p1\docs\a.txt", "p1/docs/a.txt", null)]
    [InlineData(@"\p1\docs\", "p1/docs", null)]
    [InlineData(@"\\?\p1\x", "p1/x", null)]
    [InlineData(@"\p1\\x", "p1/x", null)]
    [InlineData(@"\p1\f:zone", "p1/f", "zone")]
    [InlineData(@"\p1\f:Zone.Identifier:$DATA", "p1/f", "Zone.Identifier")]
    [InlineData(@"\p1\f::$DATA", "p1/f", null)]
    public void Parses(string raw, string components, string? stream)
    {
        var p = DokanPath.Parse(raw);
        Assert.NotNull(p);
        Assert.Equal(components, string.Join('/', p.Components));
        Assert.Equal(stream, p.Stream);
    }

    [Theory]
    [InlineData(@"\p1\d:s\f")]
    [InlineData(@"\p1\f:s:$INDEX_ALLOCATION")]
    [InlineData(@"\p1\f:")]
    [InlineData(@"\p1\..\x")]
    [InlineData(@"\p1\:s")]
    public void Refuses_invalid_names(string raw) => Assert.Null(DokanPath.Parse(raw));

    [Theory]
    [InlineData(17134, false)]
    [InlineData(17763, true)]
    [InlineData(22631, true)]
    public void Refs_is_refused_from_build_17763(int build, bool refused)
        => Assert.Equal(refused, WindowsRules.RefsSkipReason(build) is not null);

    [Fact]
    public void Shell_probe_names_are_case_insensitive()
    {
        Assert.Contains("DESKTOP.INI", WindowsRules.ShellProbeNames);
        Assert.Contains("thumbs.db", WindowsRules.ShellProbeNames);
        Assert.DoesNotContain("invoice.xlsx", WindowsRules.ShellProbeNames);
    }
}
