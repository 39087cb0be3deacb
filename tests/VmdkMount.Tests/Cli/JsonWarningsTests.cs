using System.Text.Json;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Cli;

/// <summary>Every command's --json document carries "warnings" in one place: an array at its top level.</summary>
public sealed class JsonWarningsTests
{
    private static string Demo => Path.Combine(RepoPaths.Root, "images", "demo", "demo-000002.vmdk");

    public static TheoryData<string[]> Documents => new()
    {
        new[] { "info", Demo },
        new[] { "volumes", Demo },
        new[] { "check", Demo },
        new[] { "map", Demo },
        new[] { "ls", Demo, "p2:/" },
        new[] { "ls", Demo, "p1:/", "-R" },
        new[] { "find", Demo, "--name", "*.txt" },
        new[] { "versions", Demo, "p2:/home/bob/todo.txt" },
        new[] { "changed", Demo, "--since", "2" },
    };

    [Theory]
    [MemberData(nameof(Documents))]
    public void The_document_has_a_top_level_warnings_array(string[] args)
    {
        var r = OurCli.Run([.. args, "--json"]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        using var doc = JsonDocument.Parse(r.StdOut);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        Assert.True(doc.RootElement.TryGetProperty("warnings", out var w), $"{args[0]}: no top-level warnings in {r.StdOut}");
        Assert.Equal(JsonValueKind.Array, w.ValueKind);
    }
}
