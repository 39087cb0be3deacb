using System.Buffers.Binary;
using VmdkMount.Core.Caching;
using VmdkMount.Core.Errors;
using VmdkMount.Core.Transports;

namespace VmdkMount.Core.FileSystems.Fat;

internal enum FatKind
{
    Fat12,
    Fat16,
    Fat32,
    ExFat,
}

/// <summary>
/// The file allocation table: cluster -> next cluster. FAT12/16 tables (at most 128 KiB) are read whole on first
/// use; FAT32/exFAT tables are read in 64 KiB blocks kept in a bounded cache. Chain walks are bounded by the
/// caller's cluster budget and checked for range errors and loops.
/// </summary>
internal sealed class FatTable : IDisposable
{
    private const int BlockShift = 16;
    private const int BlockSize = 1 << BlockShift;

    private readonly IReadAt _data;
    private readonly string _where;
    private readonly long _offset;
    private readonly long _length;
    private readonly FatKind _kind;
    private readonly uint _maxCluster;
    private readonly BoundedCache<long, byte[]> _blocks;
    private byte[]? _whole;

    /// <param name="offset">Byte offset of the FAT in the volume.</param>
    /// <param name="length">Byte length of the FAT (already checked to cover clusterCount + 2 entries).</param>
    public FatTable(IReadAt data, string volume, CacheBudget budget, long offset, long length, FatKind kind, uint clusterCount)
    {
        _blocks = new(budget);
        _data = data;
        _where = volume + ": FAT";
        _offset = offset;
        _length = length;
        _kind = kind;
        _maxCluster = clusterCount + 1;
    }

    public uint MaxCluster => _maxCluster;

    /// <summary>Bytes the table must have to describe <paramref name="clusterCount"/> clusters.</summary>
    public static long RequiredBytes(FatKind kind, uint clusterCount)
    {
        long entries = clusterCount + 2L;
        return kind switch
        {
            FatKind.Fat12 => (entries * 3 + 1) / 2,
            FatKind.Fat16 => entries * 2,
            _ => entries * 4,
        };
    }

    /// <summary>Byte offset (in the volume) of the entry of <paramref name="cluster"/>, for messages.</summary>
    public long EntryOffset(uint cluster) => _kind switch
    {
        FatKind.Fat12 => _offset + cluster + cluster / 2,
        FatKind.Fat16 => _offset + cluster * 2L,
        _ => _offset + cluster * 4L,
    };

    /// <summary>The raw entry value (FAT32: the low 28 bits).</summary>
    public uint Get(uint cluster)
    {
        long rel = EntryOffset(cluster) - _offset;
        switch (_kind)
        {
            case FatKind.Fat12:
            {
                var fat = Whole();
                if (rel + 2 > fat.Length) throw OutOfTable(cluster);
                uint v = BinaryPrimitives.ReadUInt16LittleEndian(fat.AsSpan((int)rel, 2));
                return (cluster & 1) != 0 ? v >> 4 : v & 0xFFF;
            }
            case FatKind.Fat16:
            {
                var fat = Whole();
                if (rel + 2 > fat.Length) throw OutOfTable(cluster);
                return BinaryPrimitives.ReadUInt16LittleEndian(fat.AsSpan((int)rel, 2));
            }
            default:
            {
                if (rel + 4 > _length) throw OutOfTable(cluster);
                var block = Block(rel >> BlockShift);
                int at = (int)(rel & (BlockSize - 1));
                if (at + 4 > block.Length) throw OutOfTable(cluster);
                uint v = BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(at, 4));
                return _kind == FatKind.Fat32 ? v & 0x0FFFFFFF : v;
            }
        }
    }

    public bool IsEndOfChain(uint value) => _kind switch
    {
        FatKind.Fat12 => value >= 0xFF8,
        FatKind.Fat16 => value >= 0xFFF8,
        FatKind.Fat32 => value >= 0x0FFFFFF8,
        _ => value >= 0xFFFFFFF8,
    };

    public bool IsBad(uint value) => _kind switch
    {
        FatKind.Fat12 => value == 0xFF7,
        FatKind.Fat16 => value == 0xFFF7,
        FatKind.Fat32 => value == 0x0FFFFFF7,
        _ => value == 0xFFFFFFF7,
    };

    /// <summary>
    /// Follows a chain from <paramref name="first"/>. With <paramref name="needed"/> &gt;= 0 it collects exactly that
    /// many clusters (a file: the chain beyond its size is ignored, a chain that ends early is a problem); with
    /// -1 it collects until end of chain, at most <paramref name="maxClusters"/> (a directory).
    /// <paramref name="ownerOffset"/> (the directory entry's byte offset) is blamed when the first cluster is wrong.
    /// Problems (range, bad cluster, free entry, loop) end the good part; they are reported in the result.
    /// </summary>
    public ClusterRuns Chain(uint first, long needed, long maxClusters, string what, long ownerOffset)
    {
        var runs = new ClusterRunsBuilder();
        long limit = needed >= 0 ? needed : maxClusters;
        uint cluster = first;
        string? problem = null;
        long problemOffset = 0;
        // Brent's cycle detection: a looping chain is noticed within a few times the loop's length, so a corrupt
        // FAT cannot make us collect millions of clusters before the loop is found.
        uint tortoise = 0;
        long power = 1, lambda = 0;
        bool looped = false, ended = false;
        while (runs.Count < limit)
        {
            if (cluster < 2 || cluster > _maxCluster)
            {
                problem = $"{what}: cluster {cluster} is outside the cluster heap (2..{_maxCluster})";
                problemOffset = runs.Count == 0 ? ownerOffset : EntryOffset(cluster);
                break;
            }
            if (cluster == tortoise)
            {
                looped = true;
                break;
            }
            if (++lambda == power)
            {
                tortoise = cluster;
                power <<= 1;
                lambda = 0;
            }
            runs.Add(cluster);
            if (needed >= 0 && runs.Count == needed) break;
            uint next = Get(cluster);
            if (IsEndOfChain(next))
            {
                ended = true;
                if (needed >= 0)
                {
                    problem = $"{what}: cluster chain ends at cluster {cluster} after {runs.Count} clusters, the size needs {needed}";
                    problemOffset = EntryOffset(cluster);
                }
                break;
            }
            if (next < 2 || IsBad(next) || next > _maxCluster)
            {
                problem = next switch
                {
                    0 => $"{what}: cluster {cluster} links to a free FAT entry",
                    _ when IsBad(next) => $"{what}: cluster {cluster} links to a bad cluster",
                    _ => $"{what}: cluster {cluster} links to cluster {next}, outside the cluster heap (2..{_maxCluster})",
                };
                problemOffset = EntryOffset(cluster);
                break;
            }
            cluster = next;
        }
        if (problem is null && !looped && !ended && needed < 0)
        {
            problem = $"{what}: cluster chain longer than {maxClusters} clusters (loop or corrupt FAT)";
            problemOffset = EntryOffset(cluster);
        }
        long valid = runs.Count;
        long repeat = runs.FirstRepeatIndex(out uint repeated);
        if (looped && repeat < 0)
        {
            repeat = runs.Count;
            repeated = cluster;
        }
        if (repeat >= 0)
        {
            valid = repeat;
            problem = $"{what}: cluster chain loops back to cluster {repeated}";
            problemOffset = EntryOffset(repeated);
        }
        return runs.Build(valid, problem, problemOffset);
    }

    private byte[] Whole()
    {
        var fat = Volatile.Read(ref _whole);
        if (fat is not null) return fat;
        fat = new byte[_length];
        _data.ReadExactly(_offset, fat, _where);
        Volatile.Write(ref _whole, fat);
        return fat;
    }

    private byte[] Block(long index) =>
        _blocks.TryGet(index, out var block) ? block : _blocks.GetOrAdd(index, LoadBlock, static b => b.Length);

    private byte[] LoadBlock(long index)
    {
        long start = index << BlockShift;
        var block = new byte[(int)Math.Min(BlockSize, _length - start)];
        _data.ReadExactly(_offset + start, block, _where);
        return block;
    }

    private CorruptDataException OutOfTable(uint cluster) =>
        new(_where, EntryOffset(cluster), $"entry of cluster {cluster} lies past the end of the FAT");

    public void Dispose() => _blocks.Dispose();
}
