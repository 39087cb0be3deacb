using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Tests.Infrastructure;
using VmdkMount.Tests.Vmdk.Writers;
using static VmdkMount.Tests.Vmdk.Writers.DeltaTestKit;

namespace VmdkMount.Tests.Vmdk;

public class SeSparseFuzzTests
{
    [Fact]
    public void SeSparse_mutated_metadata_gives_typed_errors_only()
    {
        string dir = RepoPaths.NewScratch("sesparse-fuzz");
        try
        {
            var w = new SeSparseWriter(2 * 4096 * 8);
            w.AddData(0, Pattern(4096, 1), 3).AddData(1, Pattern(4096, 2), 0).AddData(4097, Pattern(4096, 3), 1)
                .AddZero(5).AddUnmapped(6).AddData(8191, Pattern(4096, 4), 2);
            string path = Path.Combine(dir, "f-sesparse.vmdk");
            var layout = w.Write(path);
            long metadataEnd = layout.GrainsSector * 512L;
            ExtentFuzzer.Run(path, metadataEnd, SeSparseExtent.Open, iterations: 2000, seed: 2);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
