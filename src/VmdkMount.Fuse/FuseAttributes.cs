using VmdkMount.Core.FileSystems;
using VmdkMount.Core.Mounting;
using VmdkMount.Fuse.Native;

namespace VmdkMount.Fuse;

/// <summary>
/// Turns a mount node into a `struct stat`. Filesystems with Unix metadata (ext) keep their modes, owners and times;
/// NTFS and FAT (Mode/Uid/Gid null) get 0755 folders and 0644 files (0444 with the read-only attribute), owned by
/// the mounting user unless --uid/--gid say otherwise.
/// </summary>
internal sealed unsafe class FuseAttributes(MountTree tree, uint uid, uint gid, Func<MountInode, long> symlinkSize, bool directIo)
{
    /// <summary>`st_blksize` with the page cache: what readahead fetches anyway.</summary>
    public const int CachedBlockSize = 128 * 1024;

    /// <summary>`st_blksize` with direct I/O: cp, cat, stdio and Python size their reads by it, and each read is a round trip.</summary>
    public const int DirectIoBlockSize = FuseAdapter.MaxRead;

    /// <summary>
    /// With --direct-io, smaller files stay in the page cache: one round trip fetches them whole either way, and a
    /// 1 MiB st_blksize would make every reader allocate and the kernel pin a 1 MiB buffer for a few KiB (a
    /// 20,000-file tree read took 5x longer that way).
    /// </summary>
    public const long DirectIoMinSize = FuseAdapter.MaxRead;

    private const uint TypeDirectory = 0x4000;
    private const uint TypeFile = 0x8000;
    private const uint TypeSymlink = 0xA000;
    private const uint TypeCharDevice = 0x2000;
    private const uint TypeBlockDevice = 0x6000;
    private const uint TypeFifo = 0x1000;
    private const uint TypeSocket = 0xC000;

    private readonly long _mountTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private readonly Lazy<long> _diskAllocated = new(() => Allocated(tree.Disk));

    /// <summary>Whether a file of this size is served without the page cache.</summary>
    public bool IsDirect(long size) => directIo && size >= DirectIoMinSize;

    private int BlockSize(long size) => IsDirect(size) ? DirectIoBlockSize : CachedBlockSize;

    /// <summary>`st_ino`: with one volume at the root the filesystem's own numbers (as ext/ntfs-3g show them), else the mount's.</summary>
    public ulong InodeNumber(MountInode inode) =>
        tree.Options.SingleVolume is not null && inode.Kind == MountNodeKind.FsNode ? (ulong)inode.Node!.Id : inode.Ino;

    public static uint TypeBits(MountInode inode) => inode.Kind switch
    {
        MountNodeKind.Root or MountNodeKind.UnreadableVolume or MountNodeKind.PointFolder => TypeDirectory,
        MountNodeKind.DiskImage => TypeFile,
        _ => TypeBits(inode.Node!),
    };

    public void Fill(byte* st, MountInode inode)
    {
        switch (inode.Kind)
        {
            case MountNodeKind.Root:
            case MountNodeKind.UnreadableVolume:
            case MountNodeKind.PointFolder:
                StatLayout.Fill(st, InodeNumber(inode), TypeDirectory | 0x16D /* 0555 */, 2, uid, gid, 0, 0, 0, CachedBlockSize,
                    _mountTime, 0, _mountTime, 0, _mountTime, 0);
                return;
            case MountNodeKind.DiskImage:
                long capacity = tree.Disk.Length;
                StatLayout.Fill(st, InodeNumber(inode), TypeFile | 0x124 /* 0444 */, 1, uid, gid, 0, capacity,
                    (_diskAllocated.Value + 511) / 512, BlockSize(capacity), _mountTime, 0, _mountTime, 0, _mountTime, 0);
                return;
        }
        var node = inode.Node!;
        uint perms = node.Mode is { } m ? m & 0xFFF : DefaultPermissions(node);
        long size = node.Type == FsNodeType.Symlink ? symlinkSize(inode) : node.Size;
        long blocks = node.AllocatedSize is { } a ? (a + 511) / 512 : (node.Size + 511) / 512;
        var modified = node.Modified ?? new FsTime(0, 0);
        var accessed = node.Accessed ?? modified;
        var changed = node.Changed ?? modified;
        StatLayout.Fill(st, InodeNumber(inode), TypeBits(node) | perms, (ulong)Math.Max(1, node.Links),
            node.Uid ?? uid, node.Gid ?? gid, node.DeviceNumber, size, blocks, node.Type == FsNodeType.File ? BlockSize(size) : CachedBlockSize,
            accessed.UnixSeconds, accessed.Nanoseconds, modified.UnixSeconds, modified.Nanoseconds,
            changed.UnixSeconds, changed.Nanoseconds);
    }

    private static uint DefaultPermissions(FsNode node) => node.Type switch
    {
        FsNodeType.Directory => 0x1ED, // 0755
        FsNodeType.Symlink => 0x1FF, // 0777
        _ => (node.Attributes & FsAttributes.ReadOnly) != 0 ? 0x124u /* 0444 */ : 0x1A4u, // 0644
    };

    private static uint TypeBits(FsNode node) => node.Type switch
    {
        FsNodeType.Directory => TypeDirectory,
        FsNodeType.Symlink => TypeSymlink,
        FsNodeType.Device => node.IsBlockDevice ? TypeBlockDevice : TypeCharDevice,
        FsNodeType.Fifo => TypeFifo,
        FsNodeType.Socket => TypeSocket,
        _ => TypeFile,
    };

    private static long Allocated(Core.Disks.IVirtualDisk disk)
    {
        try
        {
            long total = 0;
            foreach (var range in disk.QueryAllocated(0, disk.Length)) total += range.Length;
            return total;
        }
        catch (Core.Errors.VmdkMountException)
        {
            // st_blocks is a hint (du, cp's sparse guess); a damaged map must not make disk.img unlistable.
            return disk.Length;
        }
    }
}
