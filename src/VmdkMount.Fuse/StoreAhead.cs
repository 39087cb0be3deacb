using System.Buffers;
using System.Collections.Concurrent;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;
using VmdkMount.Fuse.Native;

namespace VmdkMount.Fuse;

/// <summary>
/// Directory-level read-ahead for small files: once a reader reads one small file of a folder from its start, the
/// folder's later small files are read on one background thread and handed to the kernel's page cache with
/// FUSE_NOTIFY_STORE, so the reader's own reads of them (a copy, a scan, `cat *`) are answered by the kernel without a
/// round trip to this process. Only the page-cache mode does this (direct-I/O files skip that cache), only after a
/// read (a listing alone costs nothing more), and within fixed bounds per folder and in flight; the kernel drops the
/// pages under memory pressure like any others. A store the kernel refuses (a node it has already forgotten) is
/// simply lost: the reader's READ then comes as usual.
/// </summary>
internal sealed unsafe class StoreAhead
{
    /// <summary>Files larger than this are left to the kernel's own read-ahead, which handles one file well.</summary>
    public const int MaxFileSize = 128 * 1024;

    /// <summary>Bytes stored ahead per folder: a folder of many files gets its first ones after the file being read.</summary>
    public const long MaxBytesPerFolder = 8L << 20;

    private const int MaxFilesPerFolder = 1024;
    private const int MaxQueued = 4096;
    private const int MaxFoldersRemembered = 1 << 16;

    private readonly MountTree _tree;
    private readonly ConcurrentQueue<MountInode> _queue = new();
    private readonly ConcurrentDictionary<ulong, byte> _folders = new();
    // Queued files the reader has not asked for yet: one it reads first is answered by its READ and not stored twice.
    private readonly ConcurrentDictionary<ulong, byte> _pending = new();
    private readonly Lock _sessionGate = new();
    private nint _session;
    private int _queued;
    private int _running;

    public StoreAhead(MountTree tree) => _tree = tree;

    /// <summary>The session stores go to; 0 stops them (before the session is destroyed).</summary>
    public void Attach(nint session)
    {
        lock (_sessionGate) _session = session;
    }

    /// <summary>A read of <paramref name="file"/> from its start has just been answered.</summary>
    public void ReadFromStart(MountInode file)
    {
        _pending.TryRemove(file.Ino, out _);
        if (Volatile.Read(ref _session) == 0 || file.Parent is not { } folder || _tree.LengthOf(file) > MaxFileSize) return;
        if (!_tree.TryGetListing(folder, out var entries)) return;
        if (_folders.Count >= MaxFoldersRemembered) _folders.Clear();
        if (!_folders.TryAdd(folder.Ino, 0)) return;
        int at = -1;
        for (int i = 0; i < entries.Count; i++)
            if (ReferenceEquals(entries[i].Inode, file)) { at = i; break; }
        long bytes = 0;
        int files = 0;
        for (int i = at + 1; i < entries.Count && files < MaxFilesPerFolder; i++)
        {
            var candidate = entries[i].Inode;
            if (candidate.Kind != MountNodeKind.FsNode || candidate.Node is not { Type: FsNodeType.File }) continue;
            long length = _tree.LengthOf(candidate);
            if (length == 0 || length > MaxFileSize) continue;
            if (bytes + length > MaxBytesPerFolder) break;
            if (Interlocked.Increment(ref _queued) > MaxQueued) { Interlocked.Decrement(ref _queued); break; }
            if (!_pending.TryAdd(candidate.Ino, 0)) { Interlocked.Decrement(ref _queued); continue; }
            _queue.Enqueue(candidate);
            bytes += length;
            files++;
        }
        if (files > 0 && Interlocked.CompareExchange(ref _running, 1, 0) == 0)
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Run(), this, preferLocal: false);
    }

    private void Run()
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(MaxFileSize);
        try
        {
            while (true)
            {
                while (_queue.TryDequeue(out var file))
                {
                    Interlocked.Decrement(ref _queued);
                    if (_pending.TryRemove(file.Ino, out _)) Store(file, buffer);
                }
                Volatile.Write(ref _running, 0);
                if (_queue.IsEmpty || Interlocked.CompareExchange(ref _running, 1, 0) != 0) return;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Store(MountInode file, byte[] buffer)
    {
        int size;
        int total;
        try
        {
            size = (int)_tree.LengthOf(file);
            total = _tree.Read(file, 0, buffer.AsSpan(0, size));
        }
        catch (Exception)
        {
            // Damage is the reader's to meet, on its own READ, where it is reported with the file's path.
            return;
        }
        if (total != size) return;
        fixed (byte* data = buffer)
        {
            var vector = new FuseBufVec { Count = 1 };
            vector.Buf.Size = (nuint)size;
            vector.Buf.Mem = data;
            vector.Buf.Fd = -1;
            lock (_sessionGate)
            {
                if (_session != 0) FuseLowLevel.NotifyStore(_session, file.Ino, 0, &vector, 0);
            }
        }
    }
}
