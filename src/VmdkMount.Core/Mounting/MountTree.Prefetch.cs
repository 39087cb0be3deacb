using System.Collections.Concurrent;
using VmdkMount.Core.FileSystems;

namespace VmdkMount.Core.Mounting;

public sealed partial class MountTree
{
    /// <summary>Subfolders of one listing whose own listings are read ahead; a wider folder gets its first ones only.</summary>
    public const int MaxPrefetchedPerListing = 256;

    /// <summary>Folders waiting to be read ahead across the tree; more are not queued (the walker is ahead anyway).</summary>
    private const int MaxPrefetchQueue = 4096;

    private readonly ConcurrentQueue<MountInode> _prefetchQueue = new();
    private int _prefetchQueued;
    private int _prefetchRunning;

    /// <summary>
    /// A frontend has just listed <paramref name="dir"/> for the kernel: read the listings of its subfolders on one
    /// background thread. A walker (find, a file manager, a scanner) descends into them next, and the kernel spends as
    /// long making inodes for each listing it receives as the reader spends making it, so the two overlap on two cores
    /// instead of taking turns. Only listings are read (the node data each entry already carries); errors are left for
    /// the walker's own request to meet and report. Walkers that let go of what they passed get nothing: their
    /// listings are not kept, so reading them ahead would be work done twice.
    /// </summary>
    public void PrefetchChildListings(MountInode dir)
    {
        if (Options.Retention.LetsGoOfPassed || Volatile.Read(ref dir.Children) is not { } children) return;
        if (Interlocked.Read(ref _cachedEntries) >= MaxCachedEntries) return;
        int queued = 0;
        foreach (var (_, child) in children)
        {
            if (queued == MaxPrefetchedPerListing) break;
            if (child.Kind != MountNodeKind.FsNode || child.Node!.Type != FsNodeType.Directory || Volatile.Read(ref child.Children) is not null) continue;
            if (Interlocked.Increment(ref _prefetchQueued) > MaxPrefetchQueue) { Interlocked.Decrement(ref _prefetchQueued); break; }
            _prefetchQueue.Enqueue(child);
            queued++;
        }
        if (queued > 0 && Interlocked.CompareExchange(ref _prefetchRunning, 1, 0) == 0)
            ThreadPool.UnsafeQueueUserWorkItem(static tree => tree.RunPrefetch(), this, preferLocal: false);
    }

    /// <summary>The listing of <paramref name="dir"/> if one is kept, without reading it.</summary>
    public bool TryGetListing(MountInode dir, out IReadOnlyList<(string Name, MountInode Inode)> entries)
    {
        entries = Volatile.Read(ref dir.Children)!;
        return entries is not null;
    }

    private void RunPrefetch()
    {
        while (true)
        {
            while (_prefetchQueue.TryDequeue(out var dir))
            {
                Interlocked.Decrement(ref _prefetchQueued);
                if (Volatile.Read(ref dir.Children) is not null || Interlocked.Read(ref _cachedEntries) >= MaxCachedEntries) continue;
                try
                {
                    List(dir);
                }
                catch (Exception)
                {
                    // The walker's own listing of this folder meets the same error and reports it where it belongs.
                }
            }
            Volatile.Write(ref _prefetchRunning, 0);
            // An entry queued between the last dequeue and the reset would otherwise wait for the next listing.
            if (_prefetchQueue.IsEmpty || Interlocked.CompareExchange(ref _prefetchRunning, 1, 0) != 0) return;
        }
    }
}
