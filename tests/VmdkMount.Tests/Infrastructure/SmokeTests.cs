namespace VmdkMount.Tests.Infrastructure;

public class SmokeTests
{
    [Fact]
    public void Shared_real_images_are_beside_the_checkout()
    {
        Assert.True(File.Exists(Path.Combine(RepoPaths.RealImages, "README.md")), RepoPaths.RealImages);
    }
}
