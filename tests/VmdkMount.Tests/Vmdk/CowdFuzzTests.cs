using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Tests.Infrastructure;
using VmdkMount.Tests.Vmdk.Writers;
using static VmdkMount.Tests.Vmdk.Writers.DeltaTestKit;

namespace VmdkMount.Tests.Vmdk;

public class CowdFuzzTests
{
    [Fact]
    public void Cowd_mutated_metadata_gives_typed_errors_only()
    {
        string dir = RepoPaths.NewScratch("cowd-fuzz");
        try
        {
            var w = new CowdWriter(3 * 4096, 1);
            foreach (long g in new long[] { 0, 1, 2, 700, 4095, 4096, 9000, 12287 }) w.AddGrain(g, Pattern(512, (int)g));
            string path = Path.Combine(dir, "f-delta.vmdk");
            var layout = w.Write(path);
            long metadataEnd = (layout.GtSectorByGdi.Values.Max() + CowdWriter.GtSectors) * 512L;
            ExtentFuzzer.Run(path, metadataEnd, CowdExtent.Open, iterations: 2000, seed: 1);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
