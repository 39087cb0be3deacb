using Microsoft.Win32.SafeHandles;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.Transports;

/// <summary>
/// A bounded pool of open read-only file handles. A 2,000-link chain has thousands of extent files; keeping them all
/// open would exceed `ulimit -n`. Each <see cref="PooledFile"/> reopens its file on demand and the pool closes the
/// least recently used idle handles beyond <see cref="Capacity"/>. A handle in use by a read is never closed under it.
/// Files enter the pool through <see cref="LocalSourceStore.Open"/>, after the checked first open.
/// The shared pool's bound comes from the process's real descriptor limit (<see cref="DescriptorBudget"/>). When an
/// open still fails with EMFILE or ENFILE (something else in the process took descriptors since), the pool degrades:
/// it lowers its bound, closes idle handles and opens again; with every handle busy it waits for one to be let go
/// (at most <see cref="OutOfDescriptorsWait"/>). Only then does the open fail.
/// </summary>
public sealed class FileHandlePool
{
    /// <summary>The pool every VMDK disk uses unless told otherwise.</summary>
    public static FileHandlePool Shared { get; } = new(DefaultCapacity());

    /// <summary>How long an open that found the process out of descriptors waits for a handle of the pool to be let go.</summary>
    public static readonly TimeSpan OutOfDescriptorsWait = TimeSpan.FromSeconds(10);

    private readonly object _gate = new();
    private readonly LinkedList<PooledFile> _open = new();
    private int _capacity;
    private int _waiters;

    private readonly Action? _beforeOpen;
    private readonly TimeSpan _wait;

    public FileHandlePool(int capacity)
        : this(capacity, null)
    {
    }

    /// <summary>A pool that calls <paramref name="beforeOpen"/> before every open (tests stand in a descriptor limit: it throws <see cref="OutOfDescriptorsException"/>).</summary>
    internal FileHandlePool(int capacity, Action? beforeOpen, TimeSpan? outOfDescriptorsWait = null)
    {
        _wait = outOfDescriptorsWait ?? OutOfDescriptorsWait;
        if (capacity < 1) throw new ContractViolationException($"a file handle pool needs room for at least one handle, not {capacity}");
        _capacity = capacity;
        _beforeOpen = beforeOpen;
    }

    /// <summary>The most idle handles kept open; lowered when the process runs out of descriptors.</summary>
    public int Capacity
    {
        get { lock (_gate) return _capacity; }
    }

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

    /// <summary>How often an open found the process out of descriptors and the pool made room instead of failing.</summary>
    public long Degradations
    {
        get { lock (_gate) return _degradations; }
    }

    private long _acquisitions;
    private long _degradations;

    /// <summary>
    /// From the descriptor limit; VMDKMOUNT_MAX_OPEN_FILES may lower it, never raise it past what the limit leaves: a
    /// pool that took every descriptor would starve the rest of the process (the runtime loads assemblies lazily).
    /// </summary>
    private static int DefaultCapacity()
    {
        int fromLimit = DescriptorBudget.PoolCapacity();
        var env = Environment.GetEnvironmentVariable("VMDKMOUNT_MAX_OPEN_FILES");
        return int.TryParse(env, out int n) && n > 0 ? Math.Min(n, fromLimit) : fromLimit;
    }

    /// <summary>The checked first open of a file, with room made when the process is out of descriptors.</summary>
    internal OpenedFile OpenFirst(Func<OpenedFile> open)
    {
        var deadline = DateTime.UtcNow + _wait;
        while (true)
        {
            try
            {
                _beforeOpen?.Invoke();
                return open();
            }
            catch (OutOfDescriptorsException e)
            {
                lock (_gate) MakeRoom(e, deadline);
            }
        }
    }

    internal SafeFileHandle Acquire(PooledFile file)
    {
        lock (_gate)
        {
            if (file.Disposed) throw new ObjectDisposedException(file.Name);
            if (file.Handle is null)
            {
                EvictIdle(_capacity - 1);
                file.Handle = file.FirstOpen is { } first ? TakeFirst(file, first) : Reopen(file);
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

    /// <summary>A reopen under the lock; out of descriptors, room is made and the open tried again.</summary>
    private SafeFileHandle Reopen(PooledFile file)
    {
        var deadline = DateTime.UtcNow + _wait;
        while (true)
        {
            try
            {
                _beforeOpen?.Invoke();
                return RegularFileOpener.Reopen(file.Opened);
            }
            catch (OutOfDescriptorsException e)
            {
                MakeRoom(e, deadline);
                if (file.Disposed) throw new ObjectDisposedException(file.Name);
            }
        }
    }

    /// <summary>
    /// Called under the lock after EMFILE/ENFILE: the bound drops to three quarters of the handles open now, idle
    /// handles beyond it are closed; when none could be closed, waits (lock released) for a handle to be let go.
    /// Throws the open's error once the deadline has passed.
    /// </summary>
    private void MakeRoom(OutOfDescriptorsException e, DateTime deadline)
    {
        _degradations++;
        _capacity = Math.Max(1, Math.Min(_capacity, _open.Count * 3 / 4));
        int before = _open.Count;
        EvictIdle(_capacity - 1);
        if (_open.Count < before) return;
        var left = deadline - DateTime.UtcNow;
        if (left <= TimeSpan.Zero)
            throw new OutOfDescriptorsException(e.Source_, $"{e.Problem} (ulimit -n is {LinuxFileCalls.OpenFileLimit()?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unlimited"}, {_open.Count} chain file(s) open and busy)");
        _waiters++;
        try
        {
            // A handle let go (or, with none of ours open, a descriptor elsewhere in the process) makes the retry worth it.
            Monitor.Wait(_gate, _open.Count > 0 ? left : TimeSpan.FromMilliseconds(Math.Min(100, left.TotalMilliseconds)));
        }
        finally
        {
            _waiters--;
        }
    }

    internal void Release(PooledFile file)
    {
        lock (_gate)
        {
            file.Users--;
            if (file.Users == 0 && (file.Disposed || _open.Count > _capacity)) Close(file);
            if (_waiters > 0 && file.Users == 0) Monitor.PulseAll(_gate);
        }
    }

    internal void Dispose(PooledFile file)
    {
        lock (_gate)
        {
            file.Disposed = true;
            if (file.Users == 0 && file.Handle is not null) Close(file);
            if (_waiters > 0) Monitor.PulseAll(_gate);
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
