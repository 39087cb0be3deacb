using System.Buffers;
using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Transports;
using VmdkMount.Core.Volumes;

namespace VmdkMount.Core.Mounting.RestorePoints;

/// <summary>How a node of one volume was found to read the same (or not) in two points.</summary>
public enum SamenessEvidence
{
    /// <summary>Type, size, mode or link target differ: no data needs reading.</summary>
    Attributes,
    /// <summary>No link between the points wrote any byte the node is read from (<see cref="INodePlacement"/>).</summary>
    Allocation,
    /// <summary>The bytes of both versions were read and compared.</summary>
    Bytes,
}

/// <summary>
/// Whether a node reads the same in two points: type, size, mode and link target first, then the chain's allocation
/// (the bytes the node is read from in either point, against what the links between the points hold), and only when
/// the allocation cannot tell (a link between wrote there, a reader without <see cref="INodePlacement"/>) the bytes.
/// Modified means content, size, type, link target or mode differ; times alone do not count.
/// </summary>
public static class NodeSameness
{
    private const int ChunkBytes = 256 * 1024;

    public static (bool Same, SamenessEvidence By) Compare(RestorePointSet points, int newer, int older, Volume newVolume, Volume oldVolume,
        MountInode a, MountInode b)
    {
        var na = a.Node!;
        var nb = b.Node!;
        if (na.Type != nb.Type || na.Mode != nb.Mode) return (false, SamenessEvidence.Attributes);
        if (na.Type == FsNodeType.Directory) return (true, SamenessEvidence.Attributes);
        if (na.Type is FsNodeType.File or FsNodeType.Symlink && na.Size != nb.Size) return (false, SamenessEvidence.Attributes);
        if (na.Type is not (FsNodeType.File or FsNodeType.Symlink))
            return (na.DeviceNumber == nb.DeviceNumber && na.IsBlockDevice == nb.IsBlockDevice, SamenessEvidence.Attributes);
        if (UnwrittenBetween(points, newer, older, newVolume, oldVolume, a, b)) return (true, SamenessEvidence.Allocation);
        if (na.Type == FsNodeType.Symlink)
        {
            var la = (ISymlinkReader)a.FileSystem!;
            var lb = (ISymlinkReader)b.FileSystem!;
            return (string.Equals(la.ReadLink(na.Id), lb.ReadLink(nb.Id), StringComparison.Ordinal), SamenessEvidence.Bytes);
        }
        return (SameBytes(a.FileSystem!, na, b.FileSystem!, nb), SamenessEvidence.Bytes);
    }

    /// <summary>
    /// The parts of a node a link between the points did rewrite are compared byte for byte up to this much (a grain
    /// holds many inodes and the ends of neighbouring files); past it the node is compared as a whole.
    /// </summary>
    private const long MaxRecheckedBytes = 1 << 20;

    /// <summary>
    /// True when the node is the same record in both points and every byte it is read from (its placement in either
    /// point: a node that moved is read from new places in one) either lies where no link between the points wrote,
    /// or, for the few small ranges a link did rewrite (a grain holds many records), reads the same in both points.
    /// </summary>
    public static bool UnwrittenBetween(RestorePointSet points, int newer, int older, Volume newVolume, Volume oldVolume, MountInode a, MountInode b)
    {
        if (newer == older) return true;
        if (a.Node!.Id != b.Node!.Id || RestorePointSet.DiskOffsetOf(newVolume) is not long start || RestorePointSet.DiskOffsetOf(oldVolume) != start)
            return false;
        if (a.FileSystem is not INodePlacement pa || b.FileSystem is not INodePlacement pb) return false;
        var ranges = new List<(long Offset, long Length)>();
        if (!pa.TryPlacement(a.Node.Id, ranges) || !pb.TryPlacement(b.Node.Id, ranges)) return false;
        long rechecked = 0;
        foreach (var (offset, length) in ranges)
            foreach (var (diskAt, n) in points.Rewritten(Math.Min(newer, older), Math.Max(newer, older), start + offset, length))
            {
                rechecked += n;
                if (rechecked > MaxRecheckedBytes || !SameRange(newVolume.Data, oldVolume.Data, diskAt - start, (int)n)) return false;
            }
        return true;
    }

    private static bool SameRange(IReadAt a, IReadAt b, long offset, int length)
    {
        var ba = ArrayPool<byte>.Shared.Rent(length);
        var bb = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            int ra = a.ReadAt(offset, ba.AsSpan(0, length));
            int rb = b.ReadAt(offset, bb.AsSpan(0, length));
            return ra == rb && ba.AsSpan(0, ra).SequenceEqual(bb.AsSpan(0, rb));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(ba);
            ArrayPool<byte>.Shared.Return(bb);
        }
    }

    /// <summary>Reads both versions side by side (sizes are equal) and compares them.</summary>
    public static bool SameBytes(IFileSystem fa, FsNode a, IFileSystem fb, FsNode b)
    {
        var ba = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        var bb = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            for (long pos = 0; pos < a.Size;)
            {
                int want = (int)Math.Min(ChunkBytes, a.Size - pos);
                int ra = fa.Read(a.Id, pos, ba.AsSpan(0, want));
                int rb = fb.Read(b.Id, pos, bb.AsSpan(0, want));
                if (ra != rb || !ba.AsSpan(0, ra).SequenceEqual(bb.AsSpan(0, rb))) return false;
                if (ra == 0) break;
                pos += ra;
            }
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(ba);
            ArrayPool<byte>.Shared.Return(bb);
        }
    }
}
