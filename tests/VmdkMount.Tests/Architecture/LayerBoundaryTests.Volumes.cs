namespace VmdkMount.Tests.Architecture;

public sealed partial class LayerBoundaryTests
{
    /// <summary>
    /// Volume discovery (layer 4) sits below the readers (layer 5): it is handed the table of formats as
    /// IVolumeFormats and never names a reader, so the one table stays the only place that pairs a probe with a reader.
    /// </summary>
    [Fact]
    public void Volume_discovery_knows_formats_only_through_the_table_it_is_handed()
    {
        var hits = CodeLines(Path.Combine(Core, "Volumes"))
            .Where(l => l.Text.Contains("FileSystems", StringComparison.Ordinal))
            .Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}")
            .ToList();
        Assert.True(hits.Count == 0, "Volumes/ must not use FileSystems/ (the registry is passed in as IVolumeFormats), found:\n" + string.Join("\n", hits));
    }
}
