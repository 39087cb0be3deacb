using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Cli;

public class MountOptionTests
{
    private static string Chain => Path.Combine(RepoPaths.Root, "images", "demo", "demo-000002.vmdk");

    [Theory]
    [InlineData("lots")]
    [InlineData("12Q")]
    [InlineData("1K")]
    public void A_cache_size_that_is_not_a_usable_size_is_bad_usage(string size)
    {
        string mnt = RepoPaths.NewScratch("mnt-opt");
        try
        {
            var r = OurCli.Run("mount", Chain, mnt, "--foreground", "--cache-size", size);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("cache", r.StdErr);
        }
        finally
        {
            Directory.Delete(mnt, recursive: true);
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1M")]
    public void Mounts_read_the_same_with_the_block_cache_off_or_small(string size)
    {
        string mnt = RepoPaths.NewScratch("mnt-cache");
        try
        {
            var r = OurCli.Run("mount", Chain, mnt, "--cache-size", size);
            Assert.True(r.ExitCode == 0, r.StdErr);
            try
            {
                string invoice = File.ReadAllText(Path.Combine(mnt, "p1", "Users", "alice", "Documents", "invoice.xlsx"));
                Assert.StartsWith("INVOICE 2026-0417", invoice);
                Assert.Equal("deployed v2.3 on Wednesday\n", File.ReadAllText(Path.Combine(mnt, "p2", "home", "bob", "changelog.txt")));
            }
            finally
            {
                var u = OurCli.Run("unmount", mnt);
                Assert.True(u.ExitCode == 0, u.StdErr);
            }
        }
        finally
        {
            Directory.Delete(mnt, recursive: true);
        }
    }
}
