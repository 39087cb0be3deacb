using VmdkMount.Core.Errors;

namespace VmdkMount.Core.FileSystems.Ext;

/// <summary>
/// Symlink targets. Fast symlinks keep the target in i_block (shorter than 60 bytes, no data blocks); slow ones in
/// data blocks (extents or block map); with inline_data a target may be inline data.
///
/// How targets are returned (<see cref="IFileSystem.ReadLink"/> contract for ext):
/// <list type="bullet">
/// <item>An absolute target (<c>/etc/x</c>) is returned as is: it is volume-absolute, and our frontends resolve it
/// inside the volume, never on the host.</item>
/// <item>A relative target is returned as stored, except that `..` components that would climb above the volume
/// root are dropped (clamped), the way `/..` is `/`: from <c>/a/link</c>, <c>../../../etc/x</c> becomes
/// <c>../etc/x</c>. The link's depth comes from the directory it was last listed or looked up in (a frontend
/// always looks a link up before reading it); a link never seen through a directory is treated as being in the
/// root, which clamps the most.</item>
/// <item>Bytes that are not valid UTF-8 are escaped as for names (<see cref="ExtNames"/>).</item>
/// </list>
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

    /// <summary>Drops `..` components that would climb above the volume root, given the link's directory depth.</summary>
    public static string Clamp(string target, int depth)
    {
        if (target.StartsWith('/')) return target;
        var parts = target.Split('/');
        var kept = new List<string>(parts.Length);
        int level = depth; // how many `..` are still allowed
        foreach (var part in parts)
        {
            if (part == "..")
            {
                if (level == 0) continue;
                level--;
            }
            else if (part.Length > 0 && part != ".") level++;
            kept.Add(part);
        }
        string result = string.Join('/', kept);
        return result.Length == 0 ? "." : result;
    }
}
