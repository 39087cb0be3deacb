using System.Buffers.Binary;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Transports;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Corruption;

/// <summary>What the corruption corpus found, each as the one case that showed it, fixed in the parser.</summary>
public sealed class CorpusRegressionTests
{
    /// <summary>
    /// Found by the corpus (monolithicSparse, grain directory, field := all ones): a grain-directory entry past the
    /// end of the file was reported by the walk of the primary tables and again by the comparison with the redundant
    /// directory, which read the same primary table.
    /// </summary>
    [Theory]
    [InlineData("ms.vmdk")]
    [InlineData("so.vmdk")]
    public void Check_reports_an_unreadable_grain_table_once(string name)
    {
        string path = Path.Combine(TestImages.Get("vmdk-qemu"), name);
        long gdOffset;
        using (var f = LocalSourceStore.OpenFile(path))
        {
            var header = Mutations.Read(f, 0, 512);
            ulong gd = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(56));
            if (gd == ulong.MaxValue) gd = BinaryPrimitives.ReadUInt64LittleEndian(Mutations.Read(f, f.Length - 1024 + 56, 8));
            gdOffset = (long)gd * 512;
        }
        var store = new PatchedSourceStore(path, [new Patch(gdOffset, Mutations.Le32(0xFFFFFFF0))], null);
        using var disk = VmdkDisk.OpenChain(path, new DiskOpenOptions(), store);
        var problems = disk.Links[0].Check();
        var pastEnd = problems.Where(p => p.Contains("grain directory entry 0", StringComparison.Ordinal)).ToList();
        Assert.Single(pastEnd);
        Assert.Contains(name, pastEnd[0]);
    }
}
