using System.Collections.Concurrent;
using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>
/// Which directory each directory cluster belongs to. In a sound volume no cluster serves two directories; a
/// damaged entry or FAT that points a subdirectory at an ancestor's clusters would otherwise make the tree loop
/// forever (`ls -R`, extract). A directory is always listed after its parent, so the first owner is the
/// rightful one and the later claimant is reported as cross-linked.
/// </summary>
internal sealed class DirectoryClusterOwners
{
    private readonly ConcurrentDictionary<uint, long> _owner = new();
    private readonly string _where;

    public DirectoryClusterOwners(string volume) => _where = volume + ": directory";

    public void Claim(ClusterRuns runs, long directoryId, Func<uint, long> clusterOffset)
    {
        long index = 0;
        while (runs.TryMap(index, out uint first, out long contiguous))
        {
            for (long k = 0; k < contiguous; k++)
            {
                uint cluster = (uint)(first + k);
                long owner = _owner.GetOrAdd(cluster, directoryId);
                if (owner != directoryId)
                    throw new CorruptDataException(_where, clusterOffset(cluster),
                        $"directory (entry at offset {directoryId}) uses cluster {cluster}, which belongs to directory {owner}: cross-linked (a loop in the tree)");
            }
            index += contiguous;
        }
    }
}
