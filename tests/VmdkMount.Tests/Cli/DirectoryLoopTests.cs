using System.Text;
using VmdkMount.Cli.Commands;
using VmdkMount.Cli.Restore;
using VmdkMount.Core.FileSystems;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Cli;

/// <summary>
/// A damaged volume can make a subdirectory point back at an ancestor. `ls -R` and `extract` must each walk such a
/// tree once, report the loop and finish, whatever the reader does about it.
/// </summary>
public class DirectoryLoopTests
{
    /// <summary>/a/b where b's entry leads back to the root directory.</summary>
    private sealed class LoopingFileSystem : IFileSystem
    {
        private static FsNode Dir(long id) => new() { Id = id, Type = FsNodeType.Directory, Size = 0 };
        private static readonly FsNode File1 = new() { Id = 10, Type = FsNodeType.File, Size = 3 };

        public string Kind => "test";
        public string? Label => null;
        public long RootId => 1;
        public IReadOnlyList<string> Warnings => [];
        public FsNode? Lookup(long directoryId, string name) => List(directoryId).FirstOrDefault(e => e.Name == name).Node;
        public IEnumerable<FsDirEntry> List(long directoryId) => directoryId switch
        {
            1 => [new("a", Dir(2)), new("f.txt", File1)],
            2 => [new("b", Dir(1))],
            _ => [],
        };
        public FsNode Stat(long id) => id == 10 ? File1 : Dir(id);
        public int Read(long id, long offset, Span<byte> destination)
        {
            var data = "abc"u8;
            if (offset >= data.Length) return 0;
            int n = Math.Min(destination.Length, data.Length - (int)offset);
            data.Slice((int)offset, n).CopyTo(destination);
            return n;
        }
        public void Dispose() { }
    }

    [Fact]
    public async Task Ls_recursive_lists_a_looping_tree_once_and_reports_the_loop()
    {
        var fs = new LoopingFileSystem();
        using var output = new MemoryStream();
        var tree = SingleVolumeTree.Of(fs);
        var task = Task.Run(() => new LsCommand.Lister(tree, longFormat: false, recursive: true, json: false)
            .Run("p1", "/", tree.Root, output));
        int exit = await task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, exit);
        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["/a", "/a/b", "/f.txt"], lines.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Extract_restores_a_looping_tree_once_and_counts_the_loop_as_a_failure()
    {
        var fs = new LoopingFileSystem();
        string dest = RepoPaths.NewScratch("loop-extract");
        try
        {
            var tree = SingleVolumeTree.Of(fs);
            var extractor = new TreeExtractor(tree, "p1");
            var task = Task.Run(() =>
            {
                var measured = extractor.Measure(tree.Root);
                extractor.Extract(tree.Root, "/", Path.Combine(dest, "out"));
                return measured;
            });
            var measured = await task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal((1L, 3L), measured);
            Assert.Equal(1, extractor.Failures);
            Assert.Equal("abc", File.ReadAllText(Path.Combine(dest, "out", "f.txt")));
            Assert.True(Directory.Exists(Path.Combine(dest, "out", "a")));
            Assert.False(Directory.Exists(Path.Combine(dest, "out", "a", "b", "a")));
        }
        finally
        {
            Directory.Delete(dest, recursive: true);
        }
    }
}
