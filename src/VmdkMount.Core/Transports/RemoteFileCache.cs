namespace VmdkMount.Core.Transports;

/// <summary>
/// A remote store fetches a file in blocks of <see cref="RemoteBlocks.Size"/>; the layer above keeps them (in the disk's
/// one memory budget) and decides what to fetch: the store hands it <see cref="FetchBlocks"/> and reads through what
/// <see cref="RemoteFileCacheFactory"/> makes, so the transport itself holds no cache.
/// </summary>
public static class RemoteBlocks
{
    public const int Size = 64 * 1024;
}

/// <summary>Fetches <paramref name="count"/> blocks from block <paramref name="firstBlock"/> as one request (the file's last block may be short).</summary>
public delegate byte[][] FetchBlocks(long firstBlock, int count);

/// <summary>Reads <paramref name="destination"/>.Length bytes at <paramref name="offset"/> as one request, straight into it (a bulk read the cache does not keep).</summary>
public delegate void FetchInto(long offset, Span<byte> destination);

/// <summary>The cache in front of one remote file: reads as the file, fetching through the transport on a miss.</summary>
public interface IRemoteFileCache : IReadAt, IDisposable
{
    /// <summary>Requests the cache sent (for tests: that small reads cost no round trip, and concurrent misses one).</summary>
    int Requests { get; }

    /// <summary>Stores blocks the transport fetched already (the open's probe) as if a read had fetched them.</summary>
    void Seed(long firstBlock, byte[][] blocks);
}

/// <summary>Makes the cache of one remote file of <paramref name="length"/> bytes, named <paramref name="name"/> in messages.</summary>
/// <param name="maxRequestBytes">the most one fetch may ask for (--max-request)</param>
/// <param name="waitBound">how long a reader may wait for another reader's fetch (that fetch is bounded by --timeout itself)</param>
public delegate IRemoteFileCache RemoteFileCacheFactory(string name, long length, FetchBlocks fetch, FetchInto fetchInto, int maxRequestBytes, TimeSpan waitBound);
