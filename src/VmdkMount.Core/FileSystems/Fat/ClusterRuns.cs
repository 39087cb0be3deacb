namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>
/// Where the clusters of one file or directory lie, as runs of consecutive clusters (file cluster index -> disk
/// cluster). A chain that breaks (end too early, bad or out-of-range cluster, loop) keeps its good part:
/// <see cref="ValidClusters"/> counts the clusters that can be read and <see cref="Problem"/> says why the rest
/// cannot, with the byte offset of the FAT entry or structure at fault.
/// </summary>
internal sealed class ClusterRuns
{
    private readonly long[] _fileIndex;
    private readonly uint[] _cluster;
    private readonly long[] _length;

    public ClusterRuns(long[] fileIndex, uint[] cluster, long[] length, long validClusters, string? problem, long problemOffset)
    {
        _fileIndex = fileIndex;
        _cluster = cluster;
        _length = length;
        ValidClusters = validClusters;
        Problem = problem;
        ProblemOffset = problemOffset;
    }

    public static ClusterRuns Contiguous(uint first, long count) =>
        new([0], [first], [count], count, null, 0);

    public long ValidClusters { get; }

    public string? Problem { get; }

    public long ProblemOffset { get; }

    public int RunCount => _fileIndex.Length;

    /// <summary>The disk cluster holding file cluster <paramref name="index"/> and how many clusters follow it contiguously.</summary>
    public bool TryMap(long index, out uint cluster, out long contiguous)
    {
        cluster = 0;
        contiguous = 0;
        if (index < 0 || index >= ValidClusters) return false;
        int i = Array.BinarySearch(_fileIndex, index);
        if (i < 0) i = ~i - 1;
        long within = index - _fileIndex[i];
        cluster = (uint)(_cluster[i] + within);
        contiguous = Math.Min(_length[i] - within, ValidClusters - index);
        return true;
    }
}

/// <summary>Collects clusters in chain order into runs.</summary>
internal sealed class ClusterRunsBuilder
{
    private readonly List<long> _fileIndex = [];
    private readonly List<uint> _cluster = [];
    private readonly List<long> _length = [];
    private long _count;

    public long Count => _count;

    public void Add(uint cluster)
    {
        int last = _cluster.Count - 1;
        if (last >= 0 && (long)_cluster[last] + _length[last] == cluster)
            _length[last]++;
        else
        {
            _fileIndex.Add(_count);
            _cluster.Add(cluster);
            _length.Add(1);
        }
        _count++;
    }

    /// <summary>
    /// The file cluster index where a cluster repeats (the chain loops back on itself), or -1. A FAT chain is a
    /// function of the cluster number, so once any cluster repeats the rest of the chain only repeats too.
    /// Runs sorted by disk cluster overlap exactly when some cluster appears twice.
    /// </summary>
    public long FirstRepeatIndex(out uint repeatedCluster)
    {
        repeatedCluster = 0;
        int n = _cluster.Count;
        if (n < 2) return -1;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Array.Sort(order, (a, b) => _cluster[a].CompareTo(_cluster[b]));
        long best = -1;
        int maxEndRun = order[0];
        for (int k = 1; k < n; k++)
        {
            int a = maxEndRun, b = order[k];
            long aEnd = _cluster[a] + _length[a];
            if (aEnd > _cluster[b])
            {
                // cluster _cluster[b] is in both runs; the later of its two positions is a repeat
                long posInA = _fileIndex[a] + (_cluster[b] - _cluster[a]);
                long repeat = Math.Max(posInA, _fileIndex[b]);
                if (best < 0 || repeat < best)
                {
                    best = repeat;
                    repeatedCluster = _cluster[b];
                }
            }
            if (_cluster[b] + _length[b] > aEnd) maxEndRun = b;
        }
        return best;
    }

    public ClusterRuns Build(long validClusters, string? problem, long problemOffset) =>
        new([.. _fileIndex], [.. _cluster], [.. _length], Math.Min(validClusters, _count), problem, problemOffset);
}
