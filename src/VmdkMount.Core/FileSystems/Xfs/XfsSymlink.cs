using System.Buffers.Binary;
using VmdkMount.Core.Errors;
using VmdkMount.Core.FileSystems.Ext;

namespace VmdkMount.Core.FileSystems.Xfs;

/// <summary>
/// Symlink targets (xfs.md §6): 1 .. 1024 bytes, no NUL stored. Local: the first `size` bytes of the data fork.
/// Remote: in 1 .. 3 extents; on v5 each extent starts with its own 56-byte XSLM header whose CRC covers the whole
/// extent and whose offset/bytes say which part of the target follows; on v4 the blocks are the raw target.
/// Targets are returned as stored, shown with the ext name rule per component (see <see cref="ExtSymlink"/>).
/// </summary>
internal static class XfsSymlink
{
    public const int MaxTarget = 1024;
    private const uint RemoteMagic = 0x58534C4D; // "XSLM"
    private const int HeaderSize = 56;
    private const int OffsetOffset = 4, BytesOffset = 8, CrcOffset = 12, UuidOffset = 16, OwnerOffset = 32, BlknoOffset = 40;

    public static byte[] ReadTarget(XfsVolume vol, XfsInode inode, Func<XfsInode, ExtDataMap> mapOf)
    {
        string where = $"{vol.Name} symlink inode {inode.Number}";
        if (inode.Size < 1 || inode.Size > MaxTarget)
            throw new CorruptDataException(where, inode.Offset, $"target length {inode.Size} (1 .. {MaxTarget})");
        int size = (int)inode.Size;
        if (inode.Format == XfsInode.FormatLocal) return inode.DataFork.AsSpan(0, size).ToArray();

        var map = mapOf(inode);
        var target = new byte[size];
        int done = 0;
        int bs = vol.BlockSize;
        long pos = 0;
        for (int extent = 0; done < size && extent < 8; extent++)
        {
            long? physical = map.Map(pos, out long run);
            if (physical is null || physical == ExtDataMap.Unwritten || run == long.MaxValue)
                throw new CorruptDataException(where, inode.DataForkByteOffset, $"target block {pos} is not mapped ({done} of {size} bytes read)");
            run = Math.Min(run, (MaxTarget + HeaderSize + bs - 1) / bs + 1);
            long at = physical.Value * bs;
            var chunk = new byte[run * bs];
            vol.ReadExactly(at, chunk, $"symlink inode {inode.Number} target");
            if (!vol.Sb.HasCrc)
            {
                int n = Math.Min(chunk.Length, size - done);
                chunk.AsSpan(0, n).CopyTo(target.AsSpan(done));
                done += n;
            }
            else
            {
                uint magic = BinaryPrimitives.ReadUInt32BigEndian(chunk);
                if (magic != RemoteMagic)
                    throw new CorruptDataException(where, at, $"bad remote symlink magic 0x{magic:X8} (expected 0x{RemoteMagic:X8} \"XSLM\")");
                vol.CheckCrc(chunk, CrcOffset, at, $"symlink inode {inode.Number} target block");
                vol.CheckSelf(chunk, at, BlknoOffset, UuidOffset, OwnerOffset, inode.Number, $"symlink inode {inode.Number} target block");
                uint offset = BinaryPrimitives.ReadUInt32BigEndian(chunk.AsSpan(OffsetOffset));
                uint bytes = BinaryPrimitives.ReadUInt32BigEndian(chunk.AsSpan(BytesOffset));
                if (offset != done || bytes == 0 || bytes > chunk.Length - HeaderSize || bytes > size - done)
                    throw new CorruptDataException(where, at + OffsetOffset, $"remote header says bytes {offset} +{bytes}, expected the part at {done} of {size}");
                chunk.AsSpan(HeaderSize, (int)bytes).CopyTo(target.AsSpan(done));
                done += (int)bytes;
            }
            pos += run;
        }
        if (done < size) throw new CorruptDataException(where, inode.DataForkByteOffset, $"remote target holds {done} of {size} bytes");
        return target;
    }
}
