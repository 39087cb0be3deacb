using VmdkMount.Core.Caching;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Transports.Http;

namespace VmdkMount.Tests.Transports;

/// <summary>URL spelling without a server: the one redaction, names escaped exactly once, resolution on one origin.</summary>
public sealed class HttpUrlTests
{
    [Theory]
    [InlineData("http://u:p@h:8080/a%20b/c.vmdk?X-Amz-Signature=abc&X-Amz-Date=1#frag", "http://h:8080/a%20b/c.vmdk?X-Amz-Signature=<redacted>&X-Amz-Date=<redacted>")]
    [InlineData("https://H/disk.vmdk", "https://h/disk.vmdk")]
    [InlineData("https://h:443/sv?sig=S", "https://h/sv?sig=<redacted>")]
    [InlineData("/local/path.vmdk", "/local/path.vmdk")]
    public void Redact_keeps_scheme_host_path_and_query_keys_only(string url, string shown)
    {
        Assert.Equal(shown, HttpUrl.Redact(url));
        Assert.Equal(shown, HttpUrl.Redact(shown));   // idempotent
    }

    [Fact]
    public void RedactText_redacts_every_url_in_a_message_and_keeps_its_punctuation()
    {
        string text = "http://a:SECRET@h/x.vmdk?sig=SECRET: parent missing, tried 'https://h/y.vmdk?t=SECRET', http://h/z.vmdk.";
        string shown = HttpUrl.RedactText(text);
        Assert.DoesNotContain("SECRET", shown);
        Assert.Equal("http://h/x.vmdk?sig=<redacted>: parent missing, tried 'https://h/y.vmdk?t=<redacted>', http://h/z.vmdk.", shown);
    }

    [Theory]
    [InlineData("child #1 100% é.vmdk", "child%20%231%20100%25%20%C3%A9.vmdk")]
    [InlineData("base%20disk.vmdk", "base%2520disk.vmdk")]   // a file really named with %20 in it
    [InlineData("../other vm/a?b.vmdk", "../other%20vm/a%3Fb.vmdk")]
    [InlineData("C:x.vmdk", "C%3Ax.vmdk")]
    public void Descriptor_names_are_escaped_exactly_once(string name, string escaped) =>
        Assert.Equal(escaped, HttpUrl.EscapeRelative(name));

    [Fact]
    public void Names_resolve_beside_the_child_on_its_own_origin_and_never_carry_its_query()
    {
        var store = new HttpSourceStore("http://u:p@127.0.0.1:9/vm%201/child.vmdk?sig=S", new RemoteOptions(), ReadAheadCache.On(new CacheBudget(1 << 20)));
        Assert.Equal("http://127.0.0.1:9/vm%201/child.vmdk?sig=<redacted>", store.DiskName);
        Assert.Equal("http://127.0.0.1:9/vm%201/child%20%231%20100%25.vmdk", store.Resolve(store.DiskName, "child #1 100%.vmdk"));
        Assert.Equal("http://127.0.0.1:9/other/b.vmdk", store.Resolve(store.DiskName, "../other/b.vmdk"));
        Assert.Equal("http://127.0.0.1:9/vm%201", store.FolderOf(store.DiskName));
        Assert.True(store.IsUnder(store.Resolve(store.DiskName, "x-flat.vmdk"), store.FolderOf(store.DiskName)));
        Assert.False(store.IsUnder("http://127.0.0.1:9/other/b.vmdk", store.FolderOf(store.DiskName)));
        // absolute names are no names of this server: they stay themselves, and nothing is asked of another host
        Assert.Equal("/vmfs/volumes/ds/base.vmdk", store.Resolve(store.DiskName, "/vmfs/volumes/ds/base.vmdk"));
        Assert.Equal(SourceEntryKind.Missing, store.Kind("/vmfs/volumes/ds/base.vmdk"));
        Assert.Equal(SourceEntryKind.Missing, store.Kind("http://other.example/base.vmdk"));
        Assert.Throws<Core.Errors.SourceUnavailableException>(() => store.Open("http://other.example/base.vmdk"));
    }

    [Theory]
    [InlineData("Authorization: Bearer t", "Authorization", "Bearer t")]
    [InlineData("X-Api-Key:k:with:colons", "X-Api-Key", "k:with:colons")]
    public void Header_option_parses_name_and_value(string text, string name, string value) =>
        Assert.Equal(new KeyValuePair<string, string>(name, value), RemoteOptions.ParseHeader(text));

    [Theory]
    [InlineData("no colon SECRET")]
    [InlineData("Bad Name: SECRET")]
    public void A_bad_header_option_is_refused_without_showing_its_value(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => RemoteOptions.ParseHeader(text));
        Assert.DoesNotContain("SECRET", e.Message);
    }
}

/// <summary>Layer 1 knows nothing above it: the HTTP transport gets its block cache from the caller.</summary>
public sealed class HttpLayerTests
{
    [Fact]
    public void The_http_transport_uses_no_cache_disk_or_mounting_code()
    {
        string folder = Path.Combine(Infrastructure.RepoPaths.Root, "src", "VmdkMount.Core", "Transports", "Http");
        var hits = Directory.EnumerateFiles(folder, "*.cs")
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: Path.GetFileName(f), Line: i + 1, Text: line)))
            .Where(l => System.Text.RegularExpressions.Regex.IsMatch(l.Text, @"\b(Caching|Disks|Volumes|FileSystems|Mounting)\."))
            .Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}")
            .ToList();
        Assert.True(hits.Count == 0, string.Join("\n", hits));
    }
}
