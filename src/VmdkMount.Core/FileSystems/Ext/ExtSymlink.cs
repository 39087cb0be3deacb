using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// Symlink targets. Fast symlinks keep the target in i_block (shorter than 60 bytes, no data blocks); slow ones in
/// data blocks (extents or block map); with inline_data a target may be inline data.
///
/// Targets are returned as stored (<see cref="ISymlinkReader.ReadLink"/> contract): absolute or relative, `..` and
/// all. Bytes that are not valid UTF-8 are escaped as for names (<see cref="ExtNames"/>), with '/' kept as the
/// separator. Where a target points is decided by the frontends, per place, with
/// <see cref="VmdkMount.Core.Mounting.LinkTarget"/>: one inode reachable at several depths (hard links) cannot be
/// answered correctly here, where the link's place is not known.
/// </summary>
internal static class ExtSymlink
{
    public const int MaxTarget = 65536;

    public static byte[] ReadTarget(ExtVolume vol, ExtInode inode, Func<ExtInode, ExtDataMap> mapOf)
    {
        string where = $"{vol.Name} symlink inode {inode.Number}";
        if (inode.Size > MaxTarget || inode.Size < 0)
            throw new CorruptDataException(where, inode.Offset, $"target length {inode.Size} is absurd");
        if (inode.Has(ExtInode.FlagInlineData)) return ExtInlineData.FileContent(vol, inode);
        if (IsFast(vol, inode)) return inode.Block.AsSpan(0, (int)inode.Size).ToArray();
        var target = new byte[inode.Size];
        var map = mapOf(inode);
        int bs = vol.BlockSize;
        for (long pos = 0; pos < target.Length;)
        {
            long? physical = map.Map(pos / bs, out _);
            int chunk = (int)Math.Min(bs - pos % bs, target.Length - pos);
            if (physical is { } p && p != ExtDataMap.Unwritten)
                vol.ReadExactly(vol.BlockOffset((ulong)p) + pos % bs, target.AsSpan((int)pos, chunk), $"symlink inode {inode.Number} target");
            pos += chunk;
        }
        int nul = Array.IndexOf(target, (byte)0);
        return nul >= 0 ? target[..nul] : target;
    }

    /// <summary>The kernel's rule: a symlink is fast when it has no data blocks (an xattr block aside).</summary>
    public static bool IsFast(ExtVolume vol, ExtInode inode)
    {
        if (inode.Has(ExtInode.FlagInlineData)) return false;
        if (vol.Sb.Has(ExtSuperblock.IncompatEaInode)) return inode.Size < ExtInode.BlockLength;
        ulong eaBytes = inode.FileAcl != 0 ? (ulong)vol.BlockSize : 0;
        return inode.Size < ExtInode.BlockLength && inode.AllocatedBytes <= eaBytes;
    }
}
