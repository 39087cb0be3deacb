using System.Diagnostics;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Ext;

/// <summary>A 100,000-entry htree directory and a 2,000-entry linear one, against the kernel mount.</summary>
public class ExtBigDirectoryTests
{
    private static string Image(string name) => Path.Combine(TestImages.Get("ext-bigdir"), name + ".img");

    [Theory]
    [InlineData("ext4_bigdir")]
    [InlineData("ext4_linear")]
    public void Listing_matches_the_kernel_mount(string name)
    {
        string img = Image(name);
        var expected = ExtOracle.FromKernel(img);
        var (disk, fs) = ExtOracle.Open(img);
        using (disk)
        using (fs)
        {
            var sw = Stopwatch.StartNew();
            var actual = ExtOracle.FromReader(fs);
            ExtOracle.AssertSame(expected, actual);
            Assert.True(fs.Warnings.Count == 0, string.Join("\n", fs.Warnings));
            if (name == "ext4_bigdir")
            {
                Assert.Equal(100_000, actual.Keys.Count(k => k.StartsWith("/big/", StringComparison.Ordinal)));
                // lookups of every name stay fast: the directory is parsed once and indexed
                var big = fs.Lookup(fs.RootId, "big")!;
                for (int i = 1; i <= 100_000; i += 7)
                    Assert.NotNull(fs.Lookup(big.Id, $"file_with_a_longish_name_{i:D6}"));
                Assert.Null(fs.Lookup(big.Id, "file_with_a_longish_name_100001"));
                var hello = fs.Lookup(big.Id, "file_with_a_longish_name_050000")!;
                var buf = new byte[16];
                Assert.Equal(6, fs.Read(hello.Id, 0, buf));
                Assert.Equal("hello\n"u8.ToArray(), buf[..6]);
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"took {sw.Elapsed}");
            }
        }
    }
}
