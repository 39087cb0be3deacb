using VmdkMount.Core.Disks;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.FileSystems.Xfs;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Xfs;

/// <summary>
/// Random damage where v4 keeps its metadata (no CRC to catch it first): a bounded walk of the whole tree (list, stat,
/// look up, read links, read file starts, allocation maps) raises only the typed errors, never another exception,
/// and finishes. The damage is an overlay in memory; the image is never written.
/// </summary>
public class XfsFuzzTests
{
    [Theory]
    [InlineData("v4_512", 1)]
    [InlineData("v4", 2)]
    [InlineData("v5_1k", 3)]
    public void Random_metadata_damage_raises_only_typed_errors(string name, int seed)
    {
        string img = XfsImages.Image(name);
        var rng = new Random(seed);
        using var disk = new RawDisk(img);
        for (int round = 0; round < 60; round++)
        {
            var patches = new Dictionary<long, byte>();
            long window = 1L << 20; // AG 0's headers, inode chunks and directory blocks of a prototype image
            for (int i = 0; i < 100; i++) patches[rng.NextInt64(0, window)] = (byte)rng.Next(256);
            var damaged = new Patched(disk, patches);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            try
            {
                using var fs = XfsFileSystem.Open(damaged, $"{name} round {round}", new FileSystemOptions());
                Walk(fs, deadline);
            }
            catch (VmdkMountException)
            {
            }
            Assert.True(DateTime.UtcNow < deadline, $"round {round} took too long");
        }
    }

    private static void Walk(IFileSystem fs, DateTime deadline)
    {
        var pending = new Queue<long>();
        var seen = new HashSet<long>();
        pending.Enqueue(fs.RootId);
        var buffer = new byte[65536];
        int steps = 0;
        while (pending.Count > 0 && steps++ < 20_000 && DateTime.UtcNow < deadline)
        {
            long dir = pending.Dequeue();
            if (!seen.Add(dir)) continue;
            IEnumerable<FsDirEntry> entries;
            try
            {
                entries = fs.List(dir).ToList();
                _ = ((IReportsUnshownEntries)fs).UnshownEntries(dir);
            }
            catch (VmdkMountException)
            {
                continue;
            }
            foreach (var e in entries)
            {
                try
                {
                    _ = fs.Lookup(dir, e.Name);
                    switch (e.Node.Type)
                    {
                        case FsNodeType.Directory: pending.Enqueue(e.Node.Id); break;
                        case FsNodeType.Symlink: _ = ((ISymlinkReader)fs).ReadLink(e.Node.Id); break;
                        case FsNodeType.File:
                            _ = fs.Read(e.Node.Id, 0, buffer);
                            _ = ((IFileAllocationMap)fs).AllocatedRanges(e.Node.Id, 0, e.Node.Size).Take(100).Count();
                            break;
                    }
                }
                catch (VmdkMountException)
                {
                }
            }
        }
    }

    private sealed class Patched(IReadAt inner, Dictionary<long, byte> patches) : IReadAt
    {
        public long Length => inner.Length;

        public int ReadAt(long offset, Span<byte> destination)
        {
            int n = inner.ReadAt(offset, destination);
            foreach (var (at, value) in patches)
                if (at >= offset && at < offset + n) destination[(int)(at - offset)] = value;
            return n;
        }
    }
}
