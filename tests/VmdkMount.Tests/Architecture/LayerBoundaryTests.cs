using System.Text.RegularExpressions;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Architecture;

/// <summary>
/// The seams the layers meet at, checked on the source: a rule that only lives in a document erodes one convenient
/// call at a time.
/// </summary>
public sealed partial class LayerBoundaryTests
{
    private static string Core => Path.Combine(RepoPaths.Root, "src", "VmdkMount.Core");

    /// <summary>The code lines of a file (comment lines dropped: a doc comment may name what the code must not call).</summary>
    private static IEnumerable<(string File, int Line, string Text)> CodeLines(string folder)
    {
        foreach (var f in Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            int n = 0;
            foreach (var line in File.ReadLines(f))
            {
                n++;
                if (!line.TrimStart().StartsWith("//", StringComparison.Ordinal))
                    yield return (Path.GetRelativePath(RepoPaths.Root, f), n, line);
            }
        }
    }

    // System.IO's host-file APIs: the static classes where a member is called on them (not preceded by a dot or a word
    // character, so that `link.Path.Length` or `DescriptorFile.Parse` do not count), the handle and stream types
    // anywhere, and any other System.IO namespace but Compression (which is pure computation).
    [GeneratedRegex(@"(?<![\w.])(File|Directory|Path)\s*\.|\b(FileStream|FileInfo|DirectoryInfo|RandomAccess|SafeFileHandle)\b|System\.IO(?!\.Compression)")]
    private static partial Regex HostFileApi();

    [Fact]
    public void The_disk_layer_reaches_files_only_through_a_source_store()
    {
        var hits = CodeLines(Path.Combine(Core, "Disks"))
            .Where(l => HostFileApi().IsMatch(l.Text))
            .Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}")
            .ToList();
        Assert.True(hits.Count == 0, "Disks/ must open, list and resolve files through ISourceStore (Transports/), found:\n" + string.Join("\n", hits));
    }

    [GeneratedRegex(@"\b(is|as)\s+(HostedSparse|Flat|Cowd|SeSparse|Sized|Zero|NoAccess)Extent\b|\(\s*(HostedSparse|Flat|Cowd|SeSparse|Sized|Zero|NoAccess)Extent\s*\)")]
    private static partial Regex ConcreteExtentTest();

    [Fact]
    public void The_link_and_the_disk_read_extents_through_the_interface_only()
    {
        var files = new[] { "VmdkLink.cs", "VmdkDisk.cs", "OwnerMapBuilder.cs" }.Select(f => Path.Combine(Core, "Disks", "Vmdk", f)).ToList();
        Assert.All(files, f => Assert.True(File.Exists(f), f));
        var hits = CodeLines(Path.Combine(Core, "Disks", "Vmdk"))
            .Where(l => files.Any(f => Path.GetRelativePath(RepoPaths.Root, f) == l.File) && ConcreteExtentTest().IsMatch(l.Text))
            .Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}")
            .ToList();
        Assert.True(hits.Count == 0, "the link must read every extent through IExtent, found type tests:\n" + string.Join("\n", hits));
    }
}
