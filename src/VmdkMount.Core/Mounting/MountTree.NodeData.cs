using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems;

namespace VmdkMount.Core.Mounting;

/// <summary>
/// What reading a node means, the same for every frontend: a file's bytes come from its volume's reader,
/// `disk.img`'s from the flattened disk; lengths, SEEK_DATA/SEEK_HOLE and named streams likewise.
/// </summary>
public sealed partial class MountTree
{
    /// <summary>The byte length a frontend reports: the disk's for disk.img, the node's size, 0 for folders.</summary>
    public long LengthOf(MountInode inode) => inode.Kind switch
    {
        MountNodeKind.DiskImage => Disk.Length,
        MountNodeKind.FsNode => inode.Node!.Size,
        _ => 0,
    };

    /// <summary>
    /// Fills <paramref name="destination"/> from <paramref name="offset"/> as far as the data goes (readers may
    /// return less than asked per call); returns the bytes read, short only at the end of the data.
    /// </summary>
    public int Read(MountInode inode, long offset, Span<byte> destination)
    {
        if (inode.Kind is not (MountNodeKind.DiskImage or MountNodeKind.FsNode) || inode.IsDirectory)
            throw new ContractViolationException($"{DisplayPath(inode)} has no data to read");
        int total = 0;
        while (total < destination.Length)
        {
            int n = inode.Kind == MountNodeKind.DiskImage
                ? Disk.ReadAt(offset + total, destination[total..])
                : inode.FileSystem!.Read(inode.Node!.Id, offset + total, destination[total..]);
            if (n <= 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>
    /// The ranges of a file (clipped to <paramref name="offset"/>..+<paramref name="length"/>) that may hold data, in
    /// order: from the reader's allocation map where it has one, else the whole range. What a restore copies; a
    /// range not listed reads as zeros.
    /// </summary>
    public IEnumerable<(long Offset, long Length)> AllocatedRanges(MountInode inode, long offset, long length)
    {
        if (inode.Kind != MountNodeKind.FsNode || inode.Node!.Type != FsNodeType.File)
            throw new ContractViolationException($"{DisplayPath(inode)} is not a file");
        return inode.FileSystem is IFileAllocationMap map ? map.AllocatedRanges(inode.Node.Id, offset, length) : [(offset, length)];
    }

    /// <summary>
    /// SEEK_DATA: the first offset at or after <paramref name="offset"/> that may hold data, or -1 for none (ENXIO).
    /// disk.img answers from the disk's allocation map; a file is all data up to its size.
    /// </summary>
    public long NextData(MountInode inode, long offset)
    {
        long length = LengthOf(inode);
        if (offset < 0 || offset >= length) return -1;
        if (inode.Kind != MountNodeKind.DiskImage) return offset;
        foreach (var range in Disk.QueryAllocated(offset, length - offset))
            if (range.End > offset) return Math.Max(offset, range.Offset);
        return -1;
    }

    /// <summary>SEEK_HOLE: the first offset at or after <paramref name="offset"/> in a hole (the end counts as one), or -1 past the end.</summary>
    public long NextHole(MountInode inode, long offset)
    {
        long length = LengthOf(inode);
        if (offset < 0 || offset >= length) return -1;
        if (inode.Kind != MountNodeKind.DiskImage) return length;
        long position = offset;
        foreach (var range in Disk.QueryAllocated(offset, length - offset))
        {
            if (range.Offset > position) return position;
            position = Math.Max(position, range.End);
        }
        return Math.Min(position, length);
    }

    /// <summary>Named data streams of a node (NTFS alternate data streams); none for other nodes or readers without streams.</summary>
    public IReadOnlyList<FsStream> Streams(MountInode inode) =>
        inode.Kind == MountNodeKind.FsNode && inode.FileSystem is INamedStreams streams ? streams.ListStreams(inode.Node!.Id) : [];

    /// <summary>A node's extended attributes (XFS); none for other nodes or readers without them.</summary>
    public IReadOnlyList<FsExtendedAttribute> ExtendedAttributes(MountInode inode) =>
        inode.Kind == MountNodeKind.FsNode && inode.FileSystem is IExtendedAttributes attributes ? attributes.ExtendedAttributes(inode.Node!.Id) : [];

    /// <summary>
    /// The stream called <paramref name="name"/>: the exact name first, then ignoring case, as NTFS (the one reader
    /// with streams) compares stream names; null when there is none.
    /// </summary>
    public FsStream? FindStream(MountInode inode, string name)
    {
        var streams = Streams(inode);
        foreach (var s in streams) if (string.Equals(s.Name, name, StringComparison.Ordinal)) return s;
        foreach (var s in streams) if (string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase)) return s;
        return null;
    }

    /// <summary>Fills <paramref name="destination"/> from a named stream as far as it goes; returns the bytes read.</summary>
    public int ReadStream(MountInode inode, FsStream stream, long offset, Span<byte> destination)
    {
        if (inode.Kind != MountNodeKind.FsNode) throw new ContractViolationException($"{DisplayPath(inode)} has no streams");
        var streams = inode.FileSystem as INamedStreams ?? throw MissingCapability.NoStreams(inode.FileSystem!, inode.Node!.Id, stream.Name);
        int total = 0;
        while (total < destination.Length)
        {
            int n = streams.ReadStream(inode.Node!.Id, stream.Name, offset + total, destination[total..]);
            if (n <= 0) break;
            total += n;
        }
        return total;
    }
}
