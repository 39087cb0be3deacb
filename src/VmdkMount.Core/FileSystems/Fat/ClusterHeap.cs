using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>The data region: cluster c (&gt;= 2) starts at heapOffset + (c - 2) * clusterSize. Reads file bytes through <see cref="ClusterRuns"/>.</summary>
internal sealed class ClusterHeap
{
    private readonly IReadAt _data;
    private readonly string _where;
    private readonly long _heapOffset;

    public ClusterHeap(IReadAt data, string volume, long heapOffset, long clusterSize)
    {
        _data = data;
        _where = volume + ": cluster heap";
        _heapOffset = heapOffset;
        ClusterSize = clusterSize;
    }

    public long ClusterSize { get; }

    public long OffsetOf(uint cluster) => _heapOffset + (cluster - 2L) * ClusterSize;

    /// <summary>Clusters needed for <paramref name="bytes"/>.</summary>
    public long ClustersFor(long bytes) => bytes <= 0 ? 0 : (bytes - 1) / ClusterSize + 1;

    /// <summary>
    /// Reads the first <paramref name="length"/> bytes of a stream laid out by <paramref name="runs"/> whole (a
    /// directory), and gives the volume offset of each byte position in it: entries are named by where they sit.
    /// </summary>
    public byte[] ReadWhole(ClusterRuns runs, long length, long ownerOffset, out Func<long, long> volumeOffsetOf)
    {
        var bytes = new byte[length];
        Read(runs, length, length, 0, bytes, ownerOffset);
        long cs = ClusterSize;
        volumeOffsetOf = pos =>
        {
            runs.TryMap(pos / cs, out uint c, out _);
            return OffsetOf(c) + pos % cs;
        };
        return bytes;
    }

    /// <summary>
    /// Reads [offset, offset + destination.Length) of a stream of <paramref name="length"/> bytes laid out by
    /// <paramref name="runs"/>. Bytes at or past <paramref name="validLength"/> read as zeros (exFAT
    /// ValidDataLength). Allocation-free.
    /// </summary>
    public int Read(ClusterRuns runs, long length, long validLength, long offset, Span<byte> destination, long ownerOffset)
    {
        if (offset < 0 || offset >= length || destination.IsEmpty) return 0;
        int total = (int)Math.Min(destination.Length, length - offset);
        destination = destination[..total];
        while (!destination.IsEmpty)
        {
            if (offset >= validLength)
            {
                destination.Clear();
                break;
            }
            long index = offset / ClusterSize;
            long within = offset % ClusterSize;
            if (!runs.TryMap(index, out uint cluster, out long contiguous))
                throw new CorruptDataException(_where, runs.Problem is null ? ownerOffset : runs.ProblemOffset,
                    $"{runs.Problem ?? "cluster chain too short"}; cannot read byte {offset} (entry at offset {ownerOffset})");
            long span = Math.Min(contiguous * ClusterSize - within, validLength - offset);
            int n = (int)Math.Min(destination.Length, span);
            _data.ReadExactly(OffsetOf(cluster) + within, destination[..n], _where);
            destination = destination[n..];
            offset += n;
        }
        return total;
    }
}
