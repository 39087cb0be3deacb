using Microsoft.Win32.SafeHandles;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Transports;

/// <summary>
/// A bounded pool of open read-only file handles. A 2,000-link chain has thousands of extent files; keeping them all
/// open would exceed `ulimit -n`. Each <see cref="PooledFile"/> reopens its file on demand and the pool closes the
/// least recently used idle handles beyond <see cref="Capacity"/>. A handle in use by a read is never closed under it.
/// Files enter the pool through <see cref="LocalSourceStore.Open"/>, after the checked first open.
/// </summary>
public sealed class FileHandlePool
{
    /// <summary>The pool every VMDK disk uses unless told otherwise.</summary>
    public static FileHandlePool Shared { get; } = new(DefaultCapacity());

    private readonly object _gate = new();
    private readonly LinkedList<PooledFile> _open = new();

    public FileHandlePool(int capacity)
    {
        if (capacity < 1) throw new ContractViolationException($"a file handle pool needs room for at least one handle, not {capacity}");
        Capacity = capacity;
    }

    public int Capacity { get; }

    /// <summary>Handles open right now (for tests).</summary>
    public int OpenCount
    {
        get { lock (_gate) return _open.Count; }
    }

    /// <summary>How many reads (and header probes) went through this pool: lets tests prove a cached read touches one file.</summary>
    public long Acquisitions
    {
        get { lock (_gate) return _acquisitions; }
    }

    private long _acquisitions;

    private static int DefaultCapacity()
    {
        var env = Environment.GetEnvironmentVariable("VMDKMOUNT_MAX_OPEN_FILES");
        return int.TryParse(env, out int n) && n > 0 ? n : 128;
    }

    internal SafeFileHandle Acquire(PooledFile file)
    {
        lock (_gate)
        {
            if (file.Disposed) throw new ObjectDisposedException(file.Name);
            if (file.Handle is null)
            {
                EvictIdle(Capacity - 1);
                file.Handle = file.FirstOpen is { } first ? TakeFirst(file, first) : RegularFileOpener.Reopen(file.Opened);
                file.Node = _open.AddFirst(file);
            }
            else
            {
                _open.Remove(file.Node!);
                _open.AddFirst(file.Node!);
            }
            file.Users++;
            _acquisitions++;
            return file.Handle;
        }
    }

    internal void Release(PooledFile file)
    {
        lock (_gate)
        {
            file.Users--;
            if (file.Users == 0 && (file.Disposed || _open.Count > Capacity)) Close(file);
        }
    }

    internal void Dispose(PooledFile file)
    {
        lock (_gate)
        {
            file.Disposed = true;
            if (file.Users == 0 && file.Handle is not null) Close(file);
        }
    }

    private void EvictIdle(int keep)
    {
        var node = _open.Last;
        while (_open.Count > keep && node is not null)
        {
            var prev = node.Previous;
            if (node.Value.Users == 0) Close(node.Value);
            node = prev;
        }
    }

    private void Close(PooledFile file)
    {
        if (file.Node is not null) _open.Remove(file.Node);
        file.Node = null;
        file.Handle?.Dispose();
        file.Handle = null;
    }

    /// <summary>The handle of the checked first open is used once; every later open is a <see cref="RegularFileOpener.Reopen"/>.</summary>
    private static SafeFileHandle TakeFirst(PooledFile file, SafeFileHandle first)
    {
        file.FirstOpen = null;
        return first;
    }
}
