using VmdkMount.Core.Errors;
using VmdkMount.Core.Mounting;
using VmdkMount.Dokan;
using Xunit;

namespace VmdkMount.Tests.Dokan;

/// <summary>
/// FindFilesWithPattern matching against the documented FsRtlIsNameInExpression behaviour, and the NTSTATUS mapping.
/// Expected answers are the ones Windows gives (cmd's `dir` turns `*.txt` into `&lt;.txt` and `a?.txt` into `a&gt;.txt`).
/// </summary>
public class DosWildcardTests
{
    [Theory]
    [InlineData("*", "anything.txt", true)]
    [InlineData("*", "", true)]
    [InlineData("*.txt", "a.b.txt", true)]
    [InlineData("*.txt", "a.txt.bak", false)]
    [InlineData("?", "a", true)]
    [InlineData("?", "", false)]
    [InlineData("?", "ab", false)]
    [InlineData("a?c", "abc", true)]
    [InlineData("<.txt", "a.b.txt", true)]
    [InlineData("<.txt", "readme.txt", true)]
    [InlineData("<.txt", "readme.doc", false)]
    [InlineData("a<", "abc", true)]
    [InlineData("a<", "a.b", false)]
    [InlineData("<", "nodot", true)]
    [InlineData("a>.txt", "a.txt", true)]
    [InlineData("a>.txt", "ab.txt", true)]
    [InlineData("a>>.txt", "ab.txt", true)]
    [InlineData("a>.txt", "abc.txt", false)]
    [InlineData("ab>", "ab", true)]
    [InlineData("file\"txt", "file.txt", true)]
    [InlineData("file\".txt", "file.txt", false)]
    [InlineData("file\"", "file", true)]
    [InlineData("file\"", "file.", true)]
    [InlineData("file\"", "filex", false)]
    [InlineData("<\"<", "abc", true)]
    [InlineData("README.TXT", "readme.txt", true)]
    public void Matches_as_FsRtlIsNameInExpression(string pattern, string name, bool expected)
        => Assert.Equal(expected, DosWildcard.IsMatch(pattern, name, ignoreCase: true));

    [Fact]
    public void Case_sensitive_when_the_volume_is()
    {
        Assert.False(DosWildcard.IsMatch("README.TXT", "readme.txt", ignoreCase: false));
        Assert.True(DosWildcard.IsMatch("readme.*", "readme.txt", ignoreCase: false));
    }

    [Fact]
    public void A_pathological_pattern_stays_polynomial()
    {
        string name = new string('a', 2000) + "b";
        string pattern = string.Concat(Enumerable.Repeat("*a", 40)) + "c";
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(DosWildcard.IsMatch(pattern, name, ignoreCase: true));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }

    [Fact]
    public void NtStatus_follows_the_one_error_classification()
    {
        Assert.Equal(0xC0000034u, NtStatus.From(new FileNotFoundException("x")));
        Assert.Equal(0xC000003Au, NtStatus.From(new FileNotFoundException("x"), parentMissing: true));
        Assert.Equal(0xC0000185u, NtStatus.From(new IOException("disk")));
        Assert.Equal(0xC00000E5u, NtStatus.From(new InvalidOperationException("bug")));
        Assert.Equal(0xC0000102u, NtStatus.From(MountErrorKind.Corrupt));
        Assert.Equal(0xC0000022u, NtStatus.From(MountErrorKind.Unsupported));
        Assert.Equal(0xC00000A3u, NtStatus.From(MountErrorKind.NotInBackup));
    }
}
