using System.Collections.Concurrent;
using VmdkMount.Core.Mounting;
using VmdkMount.Fuse;
using VmdkMount.Tests.Infrastructure;

namespace VmdkMount.Tests.Fuse;

/// <summary>Mounts a <see cref="MountTree"/> in this process on a scratch folder; Dispose always unmounts and removes it.</summary>
internal sealed class InProcessMount : IDisposable
{
    private readonly FuseSession _session;
    private readonly Thread _loop;
    private readonly string _scratch;

    public InProcessMount(MountTree tree, uint? uid = null, uint? gid = null)
    {
        _scratch = RepoPaths.NewScratch("fuse-inproc");
        Path_ = System.IO.Path.Combine(_scratch, "mnt");
        Directory.CreateDirectory(Path_);
        // No auto_unmount helper here: libfuse keeps its socket open until the process exits, so each in-process mount
        // would leave a fusermount3 waiting for the whole test run. The CLI tests cover auto_unmount.
        var options = new FuseMountOptions { MountPoint = Path_, FsName = "vmdk:test", Uid = uid, Gid = gid, AutoUnmount = false };
        var adapter = new FuseAdapter(tree, options, line => Log.Enqueue(line));
        try
        {
            _session = FuseSession.Mount(adapter, options);
        }
        catch
        {
            Directory.Delete(_scratch, recursive: true);
            throw;
        }
        _loop = new Thread(() => LoopResult = _session.Run()) { IsBackground = true, Name = "fuse-loop" };
        _loop.Start();
    }

    public string Path_ { get; }

    public ConcurrentQueue<string> Log { get; } = new();

    public int? LoopResult { get; private set; }

    public bool LoopRunning => _loop.IsAlive;

    public void Dispose()
    {
        _session.RequestStop();
        if (!_loop.Join(TimeSpan.FromSeconds(10))) FuseSession.LazyUnmount(Path_);
        if (!_loop.IsAlive) _session.Dispose();
        try { Directory.Delete(_scratch, recursive: true); } catch (IOException) { }
    }
}
