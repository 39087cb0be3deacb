namespace VmdkMount.Tests.Fuse;

/// <summary>
/// Test classes that drop the kernel's caches (drop_caches) or check what is in them (cachestat) run one after
/// another: a drop from one would empty the page cache another is looking at.
/// </summary>
public static class KernelCacheTests
{
    public const string Collection = "kernel caches";
}
