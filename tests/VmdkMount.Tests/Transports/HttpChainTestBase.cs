using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using VmdkMount.Core.Caching;
using VmdkMount.Core.Disks;
using VmdkMount.Core.Disks.Vmdk;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Transports.Http;
using VmdkMount.Fuse;
using VmdkMount.Tests.Fuse;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Transports;

/// <summary>
/// A VMDK chain (images/http-chain.sh: four links, one monolithicFlat and one twoGbMaxExtentSparse, a link named
/// `child #1 100% é`) read over HTTP from a real nginx each test starts on 127.0.0.1, against the local read of the
/// same files and qemu-img's flattening: what the HTTP test classes share (each test starts and stops its own nginx).
/// </summary>
public abstract class HttpChainTestBase : IDisposable
{
    protected const string Top = "disk-000003.vmdk";
    private static readonly string[] ChainFiles =
        ["base flat.vmdk", "base flat-flat.vmdk", "child #1 100% é.vmdk", "child #1 100% é-s001.vmdk", "disk-000002.vmdk", Top];

    protected readonly string _dir = RepoPaths.NewScratch("http");
    protected readonly string _images = TestImages.Get("http-chain");
    private readonly string _www;

    protected HttpChainTestBase()
    {
        _www = Path.Combine(_dir, "www");
        Directory.CreateDirectory(Path.Combine(_www, "vm 1"));
    }

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>The chain in www/vm 1 (links to the cached image, or copies where a test changes a file), less <paramref name="leaveOut"/>.</summary>
    protected string Serve(bool copy = false, params string[] leaveOut)
    {
        string folder = Path.Combine(_www, "vm 1");
        foreach (var f in ChainFiles.Except(leaveOut))
        {
            string target = Path.Combine(folder, f);
            if (copy) File.Copy(Path.Combine(_images, f), target);
            else File.CreateSymbolicLink(target, Path.Combine(_images, f));
        }
        return folder;
    }

    /// <summary>A new nginx serving www/ (the chain is in www/vm 1).</summary>
    protected HttpNginxServer StartServer(string? tlsDir = null) => HttpNginxServer.Start(_dir, _www, tlsDir);

    protected static IVirtualDisk Open(string url, RemoteOptions? remote = null, CacheBudget? budget = null) =>
        DiskOpener.Open(url, new DiskOpenOptions { Remote = remote ?? new RemoteOptions(), Cache = budget });

    protected static string HashAll(IVirtualDisk disk, int step)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[step];
        for (long pos = 0; pos < disk.Length;)
        {
            int n = disk.ReadAt(pos, buffer);
            Assert.True(n > 0, $"short read at {pos}");
            sha.AppendData(buffer, 0, n);
            pos += n;
        }
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    protected string Expected => File.ReadAllText(Path.Combine(_images, "flat.sha256")).Trim();
}
